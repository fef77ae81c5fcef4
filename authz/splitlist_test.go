package authz

import (
	"slices"
	"testing"
)

// TestSplitList pins the one list parser the core, the store and the CLI
// share: commas and spaces separate, empties drop, and no items is nil (the
// store decodes an absent list to nil and compares records with it).
func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":           nil,
		" , ,":       nil,
		"a":          {"a"},
		"a,b c":      {"a", "b", "c"},
		" a,, b ,c ": {"a", "b", "c"},
	} {
		got := SplitList(in)
		if !slices.Equal(got, want) || (want == nil) != (got == nil) {
			t.Errorf("SplitList(%q) = %#v, want %#v", in, got, want)
		}
	}
}
