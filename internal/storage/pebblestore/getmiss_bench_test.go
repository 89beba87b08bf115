package pebblestore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"sluice/internal/storage"
)

// populate writes n object-record-sized values under keys spread over the
// key space as `sluice bench` spreads them, without syncs, then waits for
// flushes and compactions to finish so they do not run while timed.
func populate(b *testing.B, s *Store, n int) {
	b.Helper()
	value := make([]byte, 1300)
	for i := 0; i < n; {
		batch := s.db.NewBatch()
		for j := 0; j < 1000 && i < n; j, i = j+1, i+1 {
			k := fmt.Appendf(nil, "obkt\x00%02x/c32-w%d-%d", (i*131)&0xff, i%32, i)
			if err := batch.Set(k, value, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Commit(pebble.NoSync); err != nil {
			b.Fatal(err)
		}
	}
	for {
		m := s.db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Flush.NumInProgress == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := s.db.Metrics()
	lv := ""
	for i, l := range m.Levels {
		if l.TablesCount > 0 {
			lv += fmt.Sprintf(" L%d:%d tables/%d sublevels", i, l.TablesCount, l.Sublevels)
		}
	}
	b.Logf("memtables %d,%s", m.MemTable.Count, lv)
}

// BenchmarkGetMiss: a read of an absent object key in an Update attempt
// (what a PUT of a new key does in object.releaseCurrent) on an LSM of n
// records: 20000 leaves them in memtables (Pebble grows a new database's
// memtables from 256 KiB, so there are several, each searched), 100000 in
// L6 sstables. Variants: "tx" is the whole tx.Get; "get" Pebble's
// Batch.Get, "dbget" DB.Get (what tx.read uses for a key the attempt did
// not write: no batch search, no allocation); "iter" a prefix seek with
// UseL6Filters, which Get cannot set (Pebble reads L6 bloom filters only
// then): cheaper on a miss, dearer on a hit in a memtable ("gethit",
// "iterhit": it seeks every level), so tx.read keeps Get.
func BenchmarkGetMiss(b *testing.B) {
	for _, n := range []int{0, 20000, 100000} {
		for _, how := range []string{"tx", "get", "dbget", "iter", "gethit", "iterhit"} {
			b.Run(fmt.Sprintf("%d/%s", n, how), func(b *testing.B) {
				s, err := Open(Options{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				populate(b, s, n)
				keys := make([][]byte, b.N)
				for i := range keys {
					keys[i] = fmt.Appendf(nil, "obkt\x00%02x/c1-w%d-%d", (i*131)&0xff, i%32, i)
					if strings.HasSuffix(how, "hit") {
						if n == 0 {
							b.Skip()
						}
						j := (i * 7919) % n
						keys[i] = fmt.Appendf(nil, "obkt\x00%02x/c32-w%d-%d", (j*131)&0xff, j%32, j)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					batch := s.db.NewIndexedBatch()
					switch how {
					case "tx":
						t := &tx{s: s, r: batch, batch: batch, reads: map[string]struct{}{}, writes: map[string]struct{}{}}
						if _, err := t.Get(keys[i]); err != storage.ErrNotFound {
							b.Fatal(err)
						}
					case "get":
						if _, _, err := batch.Get(keys[i]); err != pebble.ErrNotFound {
							b.Fatal(err)
						}
					case "dbget":
						if _, _, err := s.db.Get(keys[i]); err != pebble.ErrNotFound {
							b.Fatal(err)
						}
					case "gethit":
						v, c, err := batch.Get(keys[i])
						if err != nil || len(v) != 1300 {
							b.Fatal(err)
						}
						c.Close()
					case "iterhit":
						it, err := batch.NewIter(&pebble.IterOptions{UseL6Filters: true})
						if err != nil {
							b.Fatal(err)
						}
						if !it.SeekPrefixGE(keys[i]) || len(it.Value()) != 1300 {
							b.Fatal("not found")
						}
						it.Close()
					case "iter":
						it, err := batch.NewIter(&pebble.IterOptions{UseL6Filters: true})
						if err != nil {
							b.Fatal(err)
						}
						if it.SeekPrefixGE(keys[i]) {
							b.Fatal("found")
						}
						it.Close()
					}
					batch.Close()
				}
			})
		}
	}
}
