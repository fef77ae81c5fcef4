package store

import (
	"testing"

	"github.com/appauthz/appauthz/authz"
)

func TestCleanMethodScopes(t *testing.T) {
	tests := map[string]struct {
		in      map[string][]string
		want    string // as FormatMethodScopes writes it
		wantErr bool
	}{
		"nothing":                    {nil, "", false},
		"methods upper-cased":        {map[string][]string{"get": {"a"}, " Post ": {"b"}}, "GET=a;POST=b", false},
		"same method in two cases":   {map[string][]string{"get": {"a"}, "GET": {"b"}}, "", false}, // order of the merge varies; checked below
		"fallback rule for the rest": {map[string][]string{"GET": {"orders:read"}, "*": {"orders:write"}}, "*=orders:write;GET=orders:read", false},
		"empty method":               {map[string][]string{"": {"a"}}, "", true},
		"not a method":               {map[string][]string{"G3T": {"a"}}, "", true},
		"star inside a name":         {map[string][]string{"G*": {"a"}}, "", true},
		"separator in a scope":       {map[string][]string{"GET": {"a;b"}}, "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := cleanMethodScopes(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if name == "same method in two cases" {
				if len(got) != 1 || len(got["GET"]) != 2 {
					t.Errorf("got %v, want GET with both scopes", got)
				}
				return
			}
			if s := authz.FormatMethodScopes(got); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}
