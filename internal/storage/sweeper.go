package storage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"sluice/internal/clock"
)

// Sweeper removes blobs that no record references once they are older than
// Grace.
//
// Why it never removes a blob that is, or is about to be, referenced:
//   - A blob is checked only when it is older than Grace. A fresh blob whose
//     referencing commit is still to come (Write returned, the metadata
//     transaction has not committed yet) is younger than Grace, provided
//     Grace is longer than the longest time between the end of a Write and
//     the commit that references the blob.
//   - Once a blob is old and unreferenced, no reference to it can appear:
//     ids are random and never reused, so no new Write yields the same id,
//     and a reference is only ever copied from a record that already holds
//     one (CopyObject, multipart completion). With no reference left there
//     is nothing to copy it from. The check and the removal are therefore
//     not racing any commit.
//
// A blob removed after its last reference was dropped may still be open by
// a reader that fetched the record earlier: Blobs.Open promises that an open
// blob stays readable.
type Sweeper struct {
	Store  Store
	Blobs  Blobs
	Clock  clock.Clock
	Grace  time.Duration
	Logger *slog.Logger
}

// Sweep makes one pass over every blob and returns how many it removed. It
// stops at the first error (other than ctx ending, which it returns too).
func (s *Sweeper) Sweep(ctx context.Context) (removed int, err error) {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cutoff := s.Clock.Now().Add(-s.Grace)
	// Collect first, then check: Walk must not be held open across
	// transactions and removals.
	var old []BlobID
	err = s.Blobs.Walk(func(id BlobID, written time.Time) error {
		if written.Before(cutoff) {
			old = append(old, id)
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: walk: %w", err)
	}
	for _, id := range old {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		var referenced bool
		if err := s.Store.View(ctx, func(tx ReadTx) error {
			var err error
			referenced, err = tx.BlobReferenced(id)
			return err
		}); err != nil {
			return removed, fmt.Errorf("sweep: check %s: %w", id, err)
		}
		if referenced {
			continue
		}
		if err := s.Blobs.Remove(id); err != nil {
			return removed, fmt.Errorf("sweep: remove %s: %w", id, err)
		}
		removed++
		logger.Info("removed unreferenced blob", "blob", string(id))
	}
	return removed, nil
}

// Run sweeps now and then every interval until ctx ends. Errors are logged
// and the next pass tries again.
func (s *Sweeper) Run(ctx context.Context, every time.Duration) {
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for {
		n, err := s.Sweep(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			logger.Error("blob sweep failed", "err", err)
		} else if n > 0 {
			logger.Info("blob sweep done", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.Clock.After(every):
		}
	}
}
