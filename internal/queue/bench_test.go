package queue

import (
	"context"
	"strings"
	"testing"

	"sluice/internal/clock"
	"sluice/internal/storage/pebblestore"
)

// BenchmarkSendParallel is durable SendMessage at the domain level with
// 16 goroutines per CPU (32 on two cores, the concurrency of issue 5's
// aim), on a real data directory; it reports the store's conflicts per
// send, since one queue's sends race for its key order.
func BenchmarkSendParallel(b *testing.B) {
	st, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir(), Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	svc := New(Config{Store: st, Clock: clock.Real{}})
	defer st.Close()
	defer svc.Close()
	ctx := context.Background()
	if err := svc.Create(ctx, "q", nil, nil); err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Send(ctx, "q", SendInput{Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
	b.ReportMetric(float64(st.Metrics().Conflicts)/float64(b.N), "conflicts/op")
}
