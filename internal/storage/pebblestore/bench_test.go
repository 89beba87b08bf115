package pebblestore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

// BenchmarkUpdateParallel measures durable commits of a ~1.3 KB record plus
// an event message on the real disk (t.TempDir()). With -cpu 1,8,32 the
// goroutine count is 1, 8 or 32 (SetParallelism(1) makes RunParallel use
// GOMAXPROCS goroutines); group commit shows as ops/s growing with it.
func BenchmarkUpdateParallel(b *testing.B) {
	s, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, 1300)
	var n atomic.Uint64
	b.SetBytes(int64(len(value)))
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			err := s.Update(context.Background(), func(tx storage.Tx) error {
				if err := tx.Set(fmt.Appendf(nil, "bucket/key-%d", i), value); err != nil {
					return err
				}
				_, err := tx.Enqueue("events", storage.Message{Body: []byte("event")})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	m := s.Metrics()
	b.ReportMetric(float64(m.Conflicts)/float64(b.N), "conflicts/op")
}
