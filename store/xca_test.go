package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/appauthz/appauthz/authz"
)

// TestXCAAPISettings: the xca policies round-trip, bad ones are refused
// on write and on read, and an xca API gets Alibaba's 15-minute window
// when it sets no clock skew.
func TestXCAAPISettings(t *testing.T) {
	s, rdb, _ := newTestStore(t)
	ctx := context.Background()
	a := authz.API{ID: "ali", Methods: []authz.Method{authz.MethodXCA}, XCATimestamp: authz.XCATimestampRequired, XCANonce: authz.XCANonceRequired}
	if err := s.CreateAPI(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPI(ctx, "ali")
	if err != nil {
		t.Fatal(err)
	}
	if got.XCATimestamp != authz.XCATimestampRequired || got.XCANonce != authz.XCANonceRequired || got.ClockSkew != 15*time.Minute {
		t.Fatalf("got %+v", got)
	}
	if err := s.CreateAPI(ctx, authz.API{ID: "bad", Methods: []authz.Method{authz.MethodXCA}, XCATimestamp: "sometimes"}); err == nil || !strings.Contains(err.Error(), "required-signed") {
		t.Fatalf("bad policy accepted: %v", err)
	}
	if err := s.CreateAPI(ctx, authz.API{ID: "bad", Methods: []authz.Method{authz.MethodXCA}, XCANonce: "Required"}); err == nil {
		t.Fatal("a policy not in canonical spelling was stored")
	}
	rdb.HSet(ctx, "appauthz:api:{ali}", "xca_nonce", "never")
	if _, err := s.GetAPI(ctx, "ali"); err == nil || !strings.Contains(err.Error(), "xca_nonce") {
		t.Fatalf("a bad stored policy was read: %v", err)
	}
}
