package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
	"sluice/internal/storage/pebblestore"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// A Lease that re-leases a message whose lease ran out, committed while an
// Update acknowledging it with the old receipt is running, makes that
// Update run again and see the new lease: Lease's writes take part in
// conflict detection.
func TestLeaseConflictsWithAck(t *testing.T) {
	clk := clock.NewFake(t0)
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx storage.Tx) error { _, err := tx.Enqueue("q", storage.Message{Body: []byte("m")}); return err }); err != nil {
		t.Fatal(err)
	}
	first, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: 1, Visibility: time.Second})
	if err != nil || len(first) != 1 {
		t.Fatalf("Lease = %v, %v", first, err)
	}
	acked := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan error)
	attempts := 0
	go func() {
		done <- s.Update(ctx, func(tx storage.Tx) error {
			attempts++
			err := tx.Ack("q", first[0].Receipt)
			if attempts == 1 {
				close(acked)
				<-proceed
			}
			return err
		})
	}()
	<-acked
	clk.Advance(time.Second)
	second, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: 1, Visibility: time.Minute})
	if err != nil || len(second) != 1 || second[0].ReceiveCount != 2 {
		t.Fatalf("re-Lease = %+v, %v; want the message with ReceiveCount 2", second, err)
	}
	close(proceed)
	if err := <-done; !errors.Is(err, storage.ErrStaleReceipt) {
		t.Errorf("Ack racing the re-lease = %v after %d attempts, want ErrStaleReceipt (rerun after the lease)", err, attempts)
	}
	if st := s.Stats("q"); st.InFlight != 1 {
		t.Errorf("Stats = %+v, want the message in flight under the new lease", st)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Ack("q", second[0].Receipt) }); err != nil {
		t.Errorf("Ack with the new receipt: %v", err)
	}
}

// After a crash that drops every unsynced write: every enqueued message is
// there; a Durable lease's receive count survived; a lease without Durable
// may be forgotten (the message is visible at once, count not raised) but
// never loses the message.
func TestQueueCrash(t *testing.T) {
	clk := clock.NewFake(t0)
	fs := vfs.NewCrashableMem()
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 20
	var ids []string
	for i := 0; i < n; i++ {
		err := s.Update(ctx, func(tx storage.Tx) error {
			id, err := tx.Enqueue("q", storage.Message{Body: fmt.Appendf(nil, "%d", i)})
			ids = append(ids, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	durable, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: n / 2, Visibility: time.Hour, Durable: true})
	if err != nil || len(durable) != n/2 {
		t.Fatalf("durable Lease = %d, %v", len(durable), err)
	}
	loose, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: n / 2, Visibility: time.Hour})
	if err != nil || len(loose) != n/2 {
		t.Fatalf("Lease = %d, %v", len(loose), err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	s.Close()
	s2, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: crashed, Clock: clk})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s2.Close()
	var got []string
	err = s2.View(ctx, func(tx storage.ReadTx) error {
		return tx.Messages("q", func(m storage.Message) bool { got = append(got, m.ID); return true })
	})
	if err != nil || !slices.Equal(got, ids) {
		t.Fatalf("messages after crash = %v, %v; want %v", got, err, ids)
	}
	st := s2.Stats("q")
	if st.InFlight < n/2 || st.Visible+st.InFlight != n {
		t.Errorf("Stats after crash = %+v; want the %d durable leases in flight, the rest visible or in flight", st, n/2)
	}
	t.Logf("after crash: %+v (leases without Durable forgotten: %d)", st, st.Visible)
	clk.Advance(time.Hour)
	all, err := s2.Lease(ctx, "q", storage.LeaseOptions{Max: n, Visibility: time.Hour})
	if err != nil || len(all) != n {
		t.Fatalf("Lease after crash = %d, %v; want %d", len(all), err, n)
	}
	for i, l := range all {
		if i < n/2 && l.ReceiveCount != 2 {
			t.Errorf("message %s (Durable lease) ReceiveCount = %d after crash and a new lease, want 2", l.ID, l.ReceiveCount)
		}
		if i >= n/2 && (l.ReceiveCount < 1 || l.ReceiveCount > 2) {
			t.Errorf("message %s ReceiveCount = %d, want 1 (lease forgotten) or 2", l.ID, l.ReceiveCount)
		}
	}
}

// An Update commits with a sync after a lease without Durable: the lease
// rides on it and survives a crash (the WAL is one log).
func TestLeaseRidesOnNextSync(t *testing.T) {
	clk := clock.NewFake(t0)
	fs := vfs.NewCrashableMem()
	s, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Update(ctx, func(tx storage.Tx) error { _, err := tx.Enqueue("q", storage.Message{}); return err }); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: 1, Visibility: time.Hour}); err != nil || len(l) != 1 {
		t.Fatalf("Lease = %v, %v", l, err)
	}
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	s.Close()
	s2, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: crashed, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st := s2.Stats("q"); st.InFlight != 1 {
		t.Errorf("Stats after crash = %+v, want the lease kept by the later synced commit", st)
	}
}

// BenchmarkQueueRoundTrip: durable Enqueue, Lease (no Durable) and Ack of
// one message per iteration on the real disk, from 1, 8 or 32 goroutines
// (-cpu 1,8,32). It reports round trips per second and the p50 and p99 of
// Lease+Ack.
func BenchmarkQueueRoundTrip(b *testing.B) {
	s, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	body := make([]byte, 1024)
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			err := s.Update(ctx, func(tx storage.Tx) error {
				_, err := tx.Enqueue("bench", storage.Message{Body: body})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
			start := time.Now()
			got, err := s.Lease(ctx, "bench", storage.LeaseOptions{Max: 1, Visibility: time.Minute})
			if err != nil {
				b.Error(err)
				return
			}
			for _, l := range got {
				if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Ack("bench", l.Receipt) }); err != nil {
					b.Error(err)
					return
				}
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
	b.ReportMetric(float64(s.Metrics().Conflicts)/float64(b.N), "conflicts/op")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "lease+ack-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "lease+ack-p99-µs")
	}
}

// BenchmarkLease measures Lease alone (no Durable, Max 10) on a queue
// holding b.N*10 messages: the cost of taking from the index and writing
// the receive counts, without WAL syncs.
func BenchmarkLease(b *testing.B) { benchLease(b, 5) }

// BenchmarkLease1KiB is BenchmarkLease with the 1 KiB bodies of the SQS
// bench: the records are flushed to sstables while the queue fills, as a
// backlog is, so Lease reads them there.
func BenchmarkLease1KiB(b *testing.B) { benchLease(b, 1024) }

func benchLease(b *testing.B, size int) {
	s, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < b.N*10; i += 1000 {
		err := s.Update(ctx, func(tx storage.Tx) error {
			for j := 0; j < 1000; j++ {
				if _, err := tx.Enqueue("bench", storage.Message{Body: make([]byte, size)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Lease(ctx, "bench", storage.LeaseOptions{Max: 10, Visibility: time.Minute})
		if err != nil || len(got) != 10 {
			b.Fatalf("Lease = %d, %v", len(got), err)
		}
	}
}
