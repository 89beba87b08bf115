package dispatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// State is where one record of a request stands.
type State uint8

const (
	// StateDelivered: the destination has it (for a queue: enqueued).
	StateDelivered State = 1
	// StateHeld: the destination refuses, is missing or is not served;
	// the record waits in the held queue and is retried.
	StateHeld State = 2
	// StatePending: accepted for delivery but not delivered yet (a
	// function's delivery queue until issue 8 invokes it).
	StatePending State = 3
	// StateDropped: held too long or too many held; finally failed.
	StateDropped State = 4
)

func (s State) String() string {
	switch s {
	case StateDelivered:
		return "delivered"
	case StateHeld:
		return "held"
	case StatePending:
		return "pending"
	case StateDropped:
		return "dropped"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Final reports whether nothing more will happen to the record.
func (s State) Final() bool { return s == StateDelivered || s == StateDropped }

// entry is one request-id index entry (stored form in encode).
type entry struct {
	State       State
	Kind        event.DestinationKind
	Time        time.Time // of the change
	Updated     time.Time // when the state was written
	Destination string
	Event       event.Name
	Key         string
	Reason      string
}

func indexKey(requestID, recordID string) []byte {
	b := make([]byte, 0, len(indexPrefix)+len(requestID)+1+len(recordID))
	b = append(b, indexPrefix...)
	b = append(b, requestID...)
	b = append(b, 0)
	return append(b, recordID...)
}

func indexRange(requestID string) (lower, upper []byte) {
	lower = append([]byte(indexPrefix+requestID), 0)
	upper = append([]byte(indexPrefix+requestID), 1)
	return lower, upper
}

const entryVersion = 1

func (e *entry) encode() []byte {
	b := make([]byte, 0, 64+len(e.Destination)+len(e.Key)+len(e.Reason))
	b = append(b, entryVersion, byte(e.State), byte(e.Kind))
	b = binary.AppendVarint(b, e.Time.UnixNano())
	b = binary.AppendVarint(b, e.Updated.UnixNano())
	for _, s := range []string{e.Destination, string(e.Event), e.Key, e.Reason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errCorruptEntry = errors.New("dispatch: corrupt request index entry")

func decodeEntry(b []byte) (entry, error) {
	var e entry
	if len(b) < 3 || b[0] != entryVersion {
		return e, errCorruptEntry
	}
	e.State, e.Kind = State(b[1]), event.DestinationKind(b[2])
	b = b[3:]
	var ts [2]int64
	for i := range ts {
		v, n := binary.Varint(b)
		if n <= 0 {
			return e, errCorruptEntry
		}
		ts[i], b = v, b[n:]
	}
	e.Time, e.Updated = time.Unix(0, ts[0]).UTC(), time.Unix(0, ts[1]).UTC()
	var strs [4]string
	for i := range strs {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return e, errCorruptEntry
		}
		strs[i], b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	e.Destination, e.Event, e.Key, e.Reason = strs[0], event.Name(strs[1]), strs[2], strs[3]
	return e, nil
}

// putEntry writes an index entry; a record without a request id (not
// caused by a request) has none.
func (s *Service) putEntry(tx storage.Tx, requestID, recordID string, e *entry) error {
	if requestID == "" {
		return nil
	}
	e.Updated = s.clock.Now()
	return tx.Set(indexKey(requestID, recordID), e.encode())
}

// setState changes an existing entry's state and reason in tx; a missing
// entry (pruned, or a record without a request id) is left alone.
func (s *Service) setState(tx storage.Tx, requestID, recordID string, st State, reason string) error {
	if requestID == "" {
		return nil
	}
	k := indexKey(requestID, recordID)
	v, err := tx.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	e, err := decodeEntry(v)
	if err != nil {
		return err
	}
	e.State, e.Reason = st, reason
	return s.putEntry(tx, requestID, recordID, &e)
}

// Record is one record a request caused, as Wait and the delivery view
// report it.
type Record struct {
	RecordID    string `json:"recordId"`
	Kind        string `json:"kind"`
	Destination string `json:"destination"`
	Event       string `json:"event"`
	Key         string `json:"key,omitempty"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Time        string `json:"time"`
}

// WaitResult is what Wait returns.
type WaitResult struct {
	RequestID string `json:"requestId"`
	// Complete is true when every record is delivered or finally failed
	// (also when the request caused none).
	Complete bool     `json:"complete"`
	Records  []Record `json:"records"`
	// Pending are the records that are not final yet (a subset of
	// Records), the list a timed-out wait reports.
	Pending []Record `json:"pending"`
}

// Records returns what the request-id index knows of requestID now.
func (s *Service) Records(ctx context.Context, requestID string) (WaitResult, error) {
	res := WaitResult{RequestID: requestID, Records: []Record{}, Pending: []Record{}}
	lower, upper := indexRange(requestID)
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		res.Records, res.Pending = res.Records[:0], res.Pending[:0]
		it, err := tx.NewIterator(lower, upper)
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.Value()
			if err != nil {
				it.Close()
				return err
			}
			e, err := decodeEntry(v)
			if err != nil {
				it.Close()
				return err
			}
			r := Record{
				RecordID: string(it.Key()[len(lower):]), Kind: e.Kind.String(), Destination: e.Destination,
				Event: string(e.Event), Key: e.Key, State: e.State.String(), Reason: e.Reason,
				Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
			}
			res.Records = append(res.Records, r)
			if !e.State.Final() {
				res.Pending = append(res.Pending, r)
			}
		}
		return it.Close()
	})
	res.Complete = err == nil && len(res.Pending) == 0
	return res, err
}

// Wait blocks until every record requestID caused is delivered or finally
// failed, or timeout passes (by the injected clock), or ctx ends. It
// returns the records either way; Complete says which. It is woken by the
// commits of the delivery worker and of MarkDelivered, never by polling.
// A request that caused no records is complete at once: its id is only
// known from its response, which is sent after its records committed.
func (s *Service) Wait(ctx context.Context, requestID string, timeout time.Duration) (WaitResult, error) {
	deadline := s.clock.After(timeout)
	for {
		ch := s.progressChan()
		res, err := s.Records(ctx, requestID)
		if err != nil || res.Complete {
			return res, err
		}
		select {
		case <-ch:
		case <-deadline:
			return res, nil
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
}

// MarkDelivered records in tx that the record (requestID, recordID) was
// delivered: the hook for the function invocation path (issue 8), whose
// messages carry both ids as attributes ("rid", "rec"). Call Progressed
// after the commit so that Wait notices.
func (s *Service) MarkDelivered(tx storage.Tx, requestID, recordID string) error {
	return s.setState(tx, requestID, recordID, StateDelivered, "")
}

// Progressed wakes waiters after a commit that settled records.
func (s *Service) Progressed() { s.progressed() }

// pruneIndex deletes final entries last updated before cutoff, scanning a
// snapshot (so that pruning never conflicts with publishers writing new
// entries) and deleting at most batch keys per commit. Final entries never
// change again, so deleting what the snapshot showed is safe. Pending and
// held entries stay.
func (s *Service) pruneIndex(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	lower, upper := []byte(indexPrefix), []byte("Nr0") // '0' follows '/'
	total := 0
	for lower != nil {
		var dead [][]byte
		var next []byte
		err := s.store.View(ctx, func(tx storage.ReadTx) error {
			dead, next = dead[:0], nil
			it, err := tx.NewIterator(lower, upper)
			if err != nil {
				return err
			}
			for ok := it.First(); ok; ok = it.Next() {
				if len(dead) >= batch {
					next = append([]byte(nil), it.Key()...)
					break
				}
				v, err := it.Value()
				if err != nil {
					it.Close()
					return err
				}
				if e, err := decodeEntry(v); err == nil && (!e.State.Final() || !e.Updated.Before(cutoff)) {
					continue
				}
				dead = append(dead, append([]byte(nil), it.Key()...))
			}
			return it.Close()
		})
		if err == nil && len(dead) > 0 {
			err = s.store.Update(ctx, func(tx storage.Tx) error {
				for _, k := range dead {
					if err := tx.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			return total, err
		}
		total += len(dead)
		lower = next
	}
	return total, nil
}
