package dispatch

import (
	"context"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// heldCounts is how many held records each destination has, so that past
// MaxHeld the destination holding the most loses its records first: a
// flood of records for one refusing destination cannot push another
// destination's records out (DESIGN, Events: one slow or dead destination
// never holds the others back). The delivery worker is the only one that
// removes held records, so it keeps the counts as it leases and settles
// them, after one scan of the held queue at its first batch. Only the
// worker uses it (Run, or a test calling deliverBatch), one goroutine.
type heldCounts struct {
	loaded bool
	byDest map[string]int
	known  map[string]string // held message id -> its destination
}

// load counts the held queue once.
func (h *heldCounts) load(ctx context.Context, store Store) error {
	if h.loaded {
		return nil
	}
	h.byDest, h.known = map[string]int{}, map[string]string{}
	err := store.View(ctx, func(tx storage.ReadTx) error {
		return tx.Messages(HeldQueue, func(m storage.Message) bool {
			h.see(m.ID, destinationOf(m.Body))
			return true
		})
	})
	if err != nil {
		return err
	}
	h.loaded = true
	return nil
}

// see counts a held record the first time the worker meets it (a record
// held after the scan is met when it is first leased).
func (h *heldCounts) see(id, dest string) {
	if _, ok := h.known[id]; ok {
		return
	}
	h.known[id] = dest
	h.byDest[dest]++
}

// forget uncounts a record that left the held queue.
func (h *heldCounts) forget(id string) {
	dest, ok := h.known[id]
	if !ok {
		return
	}
	delete(h.known, id)
	if h.byDest[dest]--; h.byDest[dest] <= 0 {
		delete(h.byDest, dest)
	}
}

// largest reports whether dest holds at least as many records as any
// other destination.
func (h *heldCounts) largest(dest string) bool {
	n := h.byDest[dest]
	for _, m := range h.byDest {
		if m > n {
			return false
		}
	}
	return true
}

// destinationOf is a held record's destination, "" for one that cannot be
// read (the worker drops those anyway).
func destinationOf(body []byte) string {
	var env event.Envelope
	if env.UnmarshalBinary(body) != nil {
		return ""
	}
	return env.Destination
}
