package httpauthz

import (
	"slices"
	"strings"
)

// UpstreamURI is uri with every query pair whose raw name (the bytes up to
// the first '=', undecoded, case-sensitive) is in names removed, the way
// Envoy's query_parameters_to_remove matches them. Everything else is kept
// byte for byte: the path, the other pairs, their order and separators,
// even empty pairs. A query with nothing left loses its '?'.
func UpstreamURI(uri string, names []string) string {
	if len(names) == 0 {
		return uri
	}
	path, query, ok := strings.Cut(uri, "?")
	if !ok {
		return uri
	}
	pairs := strings.Split(query, "&")
	kept := pairs[:0]
	removed := false
	for _, pair := range pairs {
		name, _, _ := strings.Cut(pair, "=")
		if pair != "" && slices.Contains(names, name) {
			removed = true
			continue
		}
		kept = append(kept, pair)
	}
	if !removed {
		return uri
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}
