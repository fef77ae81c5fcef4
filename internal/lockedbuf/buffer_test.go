package lockedbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestBuffer(t *testing.T) {
	tests := map[string]struct {
		max        int
		writes     int
		wantLength int
	}{
		"unlimited keeps everything":        {max: 0, writes: 100, wantLength: 1000},
		"capped stops after passing Max":    {max: 25, writes: 100, wantLength: 30},
		"capped below Max keeps all writes": {max: 5000, writes: 100, wantLength: 1000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := &Buffer{Max: tc.max}
			var wg sync.WaitGroup
			for range tc.writes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := b.Write([]byte("0123456789"))
					if n != 10 || err != nil {
						t.Errorf("Write = %d, %v; want 10, nil (a dropped write still reports success)", n, err)
					}
					_ = b.String() // reads race with writes under -race
				}()
			}
			wg.Wait()
			if got := b.String(); len(got) != tc.wantLength || strings.Trim(got, "0123456789") != "" {
				t.Errorf("kept %d bytes; want %d", len(got), tc.wantLength)
			}
		})
	}
}
