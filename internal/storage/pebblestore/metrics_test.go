package pebblestore

import (
	"context"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"sluice/internal/storage"
)

// The collector reports the commits made, one WAL fsync observation per
// synced commit at least, and write stalls as Pebble reports them.
func TestCollectorReportsCommitsFsyncsAndStalls(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		if err := s.Update(context.Background(), func(tx storage.Tx) error {
			return tx.Set([]byte{'k', byte(i)}, []byte("v"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Pebble calls the listener; drive it as Pebble would.
	l := s.listener()
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "memtable count limit reached"})
	l.WriteStallEnd()

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collector())
	want := `
# HELP sluice_storage_commits_total Storage transactions that committed writes.
# TYPE sluice_storage_commits_total counter
sluice_storage_commits_total 5
# HELP sluice_storage_write_stalls_total Times Pebble held every commit back because flushes or compactions fell behind.
# TYPE sluice_storage_write_stalls_total counter
sluice_storage_write_stalls_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_storage_commits_total", "sluice_storage_write_stalls_total"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var fsyncs uint64
	for _, mf := range mfs {
		if mf.GetName() == "sluice_storage_wal_fsync_seconds" {
			fsyncs = mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	if fsyncs < 1 {
		t.Fatalf("sluice_storage_wal_fsync_seconds counted %d syncs after 5 durable commits", fsyncs)
	}

	// After Close the store's own counters are still reported; Pebble's
	// are not (it panics when used after Close).
	s.Close()
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather after Close: %v", err)
	}
}
