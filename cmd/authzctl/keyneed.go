package main

import "github.com/spf13/cobra"

// secretFreeCommands touch the store without opening or sealing an app
// secret, so they run without a master key: an operator listing apps or
// revoking a key needs Redis access, not the key that decrypts secrets.
// Any command not listed (and not storeless, like check and sign) needs
// the key: a new command that seals must not write secrets in clear by
// default. keyneed_test.go lists every command.
var secretFreeCommands = map[string]bool{
	"authzctl app list":      true,
	"authzctl app show":      true,
	"authzctl app disable":   true,
	"authzctl app enable":    true,
	"authzctl app delete":    true,
	"authzctl key list":      true,
	"authzctl key revoke":    true,
	"authzctl key disable":   true,
	"authzctl key enable":    true,
	"authzctl appcode reset": true,
	"authzctl api list":      true,
	"authzctl api show":      true,
	"authzctl api create":    true,
	"authzctl api update":    true,
	"authzctl api delete":    true,
	"authzctl grant list":    true,
	"authzctl grant add":     true,
	"authzctl grant revoke":  true,
	"authzctl limit list":    true,
	"authzctl limit show":    true,
	"authzctl limit set":     true,
	"authzctl limit delete":  true,
	"authzctl token revoke":  true,
}

// needsMasterKey reports whether cmd opens or seals app secrets (app and
// key create, migrate, secrets rotate-master), so must be given the master
// key (or --insecure-plaintext-secrets).
func needsMasterKey(cmd *cobra.Command) bool {
	return !secretFreeCommands[cmd.CommandPath()]
}
