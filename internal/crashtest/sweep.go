package crashtest

import (
	"context"
	"fmt"
	"sort"
	"time"

	"sluice/internal/storage"
)

// Sweep is the blob sweeper invariant, checked on the storage itself (the
// in-process target, or a process target's data directory opened after the
// last kill): a sweep never removes a referenced blob, never removes an
// unreferenced one before its grace period, and removes every unreferenced
// one after it. It has no workload of its own: the object workload leaves
// unreferenced blobs behind (overwrites, deletes, PUTs cut by the crash).
type Sweep struct{}

func (Sweep) Name() string                                 { return "sweep" }
func (Sweep) Setup(ctx context.Context, env *Env) error    { return nil }
func (Sweep) Workload(ctx context.Context, env *Env) error { return nil }

type blobState struct {
	written    time.Time
	referenced bool
}

func walkBlobs(ctx context.Context, env *Env) (map[storage.BlobID]blobState, error) {
	out := map[storage.BlobID]blobState{}
	if err := env.Blobs.Walk(func(id storage.BlobID, written time.Time) error {
		out[id] = blobState{written: written}
		return nil
	}); err != nil {
		return nil, err
	}
	err := env.Store.View(ctx, func(tx storage.ReadTx) error {
		for id, b := range out {
			ref, err := tx.BlobReferenced(id)
			if err != nil {
				return err
			}
			b.referenced = ref
			out[id] = b
		}
		return nil
	})
	return out, err
}

// Check sweeps twice: at the current time (only blobs already past the
// grace period may go) and after advancing the fake clock past the grace
// period (every unreferenced blob must go, every referenced one stay).
func (Sweep) Check(ctx context.Context, env *Env) error {
	if env.Store == nil || env.Blobs == nil || env.Clock == nil || env.BlobGrace <= 0 {
		return nil // nothing to check on this target
	}
	sw := &storage.Sweeper{Store: env.Store, Blobs: env.Blobs, Clock: env.Clock, Grace: env.BlobGrace}
	before, err := walkBlobs(ctx, env)
	if err != nil {
		return err
	}
	cutoff := env.Clock.Now().Add(-env.BlobGrace)
	if _, err := sw.Sweep(ctx); err != nil {
		return err
	}
	after, err := walkBlobs(ctx, env)
	if err != nil {
		return err
	}
	var bad []string
	for id, b := range before {
		_, kept := after[id]
		switch {
		case b.referenced && !kept:
			bad = append(bad, fmt.Sprintf("referenced blob %s removed", id))
		case !b.referenced && !kept && !b.written.Before(cutoff):
			bad = append(bad, fmt.Sprintf("unreferenced blob %s removed before its grace period (written %s, cutoff %s)", id, b.written, cutoff))
		case !b.referenced && kept && b.written.Before(cutoff):
			bad = append(bad, fmt.Sprintf("unreferenced blob %s past its grace period survived a sweep", id))
		}
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			bad = append(bad, fmt.Sprintf("blob %s appeared during a sweep", id))
		}
	}

	env.Clock.Advance(env.BlobGrace + time.Second)
	if _, err := sw.Sweep(ctx); err != nil {
		return err
	}
	final, err := walkBlobs(ctx, env)
	if err != nil {
		return err
	}
	for id, b := range before {
		_, kept := final[id]
		switch {
		case b.referenced && !kept:
			bad = append(bad, fmt.Sprintf("referenced blob %s removed after the grace period", id))
		case !b.referenced && kept:
			bad = append(bad, fmt.Sprintf("unreferenced blob %s survived its grace period", id))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%d blob(s) wrong: %v", len(bad), bad)
	}
	env.Logf("sweep: %d blob(s), %d referenced, %d removed", len(before), countReferenced(before), len(before)-len(final))
	return nil
}

func countReferenced(m map[storage.BlobID]blobState) int {
	n := 0
	for _, b := range m {
		if b.referenced {
			n++
		}
	}
	return n
}
