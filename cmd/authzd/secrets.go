package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/appauthz/appauthz/internal/demokey"
	"github.com/appauthz/appauthz/store"
)

// secretsConfig says how app secrets are protected in Redis (docs/secrets.md).
type secretsConfig struct {
	MasterKeyFile     string
	OldMasterKeyFiles string // comma-separated
	InsecurePlaintext bool
	// AllowDemoKey lets the public demo master key through (compose demo).
	AllowDemoKey bool
	keyring      *store.Keyring // nil: secrets in clear, or --dev's ephemeral key
}

func (s *secretsConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&s.MasterKeyFile, "master-key-file", "", "`file` holding the 32-byte master key that encrypts app secrets in Redis (raw, hex or base64)")
	fs.StringVar(&s.OldMasterKeyFiles, "old-master-key-file", "", "comma-separated `files` of previous master keys, still accepted while `authzctl secrets rotate-master` runs")
	fs.BoolVar(&s.InsecurePlaintext, "insecure-plaintext-secrets", false, "allow app secrets stored in clear in Redis (and store new ones so without a master key); not for production")
	fs.BoolVar(&s.AllowDemoKey, demokey.Flag, false, "accept the public demo master key of deploy/demo (docker compose demo only; implied by --dev)")
}

// errNoMasterKey is why authzd refuses to start without a master key.
var errNoMasterKey = errors.New("no master key: give --master-key-file (or AUTHZ_MASTER_KEY_FILE) naming 32 random bytes, e.g. made with `head -c 32 /dev/urandom | base64 > master.key`; or --insecure-plaintext-secrets to keep app secrets in clear (not for production)")

// required is the start-up refusal: no master key is an error, except in
// --dev (an ephemeral key) or with --insecure-plaintext-secrets. It is
// checked by realMain, after loadConfig, so that configuration tests need
// no key file.
func (s *secretsConfig) required(dev bool) error {
	if s.keyring == nil && !dev && !s.InsecurePlaintext {
		return errNoMasterKey
	}
	return nil
}

// validate loads the master key files given. The public demo key is
// refused unless allowed (dev: --dev implies the switch).
func (s *secretsConfig) validate(dev bool) []error {
	s.keyring = nil
	var problems []error
	if s.MasterKeyFile == "" {
		if s.OldMasterKeyFiles != "" {
			problems = append(problems, errors.New("--old-master-key-file needs --master-key-file: the new key seals, the old ones only open"))
		}
		return problems
	}
	cur, err := store.LoadMasterKey(s.MasterKeyFile)
	if err != nil {
		return append(problems, fmt.Errorf("--master-key-file: %w", err))
	}
	var old [][]byte
	for _, f := range strings.Split(s.OldMasterKeyFiles, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		k, err := store.LoadMasterKey(f)
		if err != nil {
			problems = append(problems, fmt.Errorf("--old-master-key-file: %w", err))
			continue
		}
		old = append(old, k)
	}
	if len(problems) > 0 {
		return problems
	}
	kr, err := store.NewKeyring(cur, old...)
	if err != nil {
		return append(problems, fmt.Errorf("--master-key-file: %w", err))
	}
	if demokey.Is(kr) && !s.AllowDemoKey && !dev {
		return append(problems, fmt.Errorf("--master-key-file: %w", demokey.Refusal(s.MasterKeyFile)))
	}
	if s.InsecurePlaintext {
		kr.AcceptPlaintext()
	}
	s.keyring = kr
	return nil
}

// masterKeyID is what the start-up log shows of the master key.
func (s *secretsConfig) masterKeyID() string {
	if s.keyring == nil {
		return "none"
	}
	return s.keyring.ID()
}

// devKeyring is --dev's ephemeral master key, written to a private
// temporary file so the authzctl commands of the banner can use it; the
// file is removed at exit by the returned function.
func devKeyring() (*store.Keyring, string, func(), error) {
	kr, key := store.NewRandomKeyring()
	dir, err := os.MkdirTemp("", "appauthz-dev-")
	if err != nil {
		return nil, "", nil, fmt.Errorf("dev master key: %w", err)
	}
	path := filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("dev master key: %w", err)
	}
	return kr, path, func() { os.RemoveAll(dir) }, nil
}

// open returns the Keyring the store seals with: the configured one, or
// in --dev without a key file an ephemeral one; keyFile is the file
// authzctl can use with it. cleanup must be called at exit.
func (s *secretsConfig) open(dev bool, log *slog.Logger) (kr *store.Keyring, keyFile string, cleanup func(), err error) {
	cleanup = func() {}
	kr, keyFile = s.keyring, s.MasterKeyFile
	if kr == nil && dev {
		if kr, keyFile, cleanup, err = devKeyring(); err != nil {
			return nil, "", nil, err
		}
		log.Warn("DEV MODE: app secrets are sealed under an ephemeral master key, lost at exit", slog.String("master_key_file", keyFile), slog.String("master_key_id", kr.ID()))
	}
	if demokey.Is(kr) {
		log.Warn(demokey.Warning, slog.String("master_key_id", kr.ID()))
	}
	if s.InsecurePlaintext {
		if kr == nil {
			log.Warn("INSECURE: --insecure-plaintext-secrets without a master key: app secrets are stored in clear in Redis, so a Redis dump or replica reveals them. Give --master-key-file and run `authzctl secrets rotate-master`.")
		} else {
			log.Warn("INSECURE: --insecure-plaintext-secrets: app secrets found in clear in Redis are accepted. Run `authzctl secrets rotate-master` to seal them, then drop the flag.")
		}
	}
	return kr, keyFile, cleanup, nil
}
