package dispatch

import (
	"context"
	"errors"
	"time"

	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/storage"
)

// Run is the delivery worker: it takes held records, checks their
// destination again and delivers the ones it now accepts (a queue created
// or whose policy was fixed since), drops those past MaxHeldAge or beyond
// MaxHeld (logged, counted, marked in the index), and lets the others wait,
// backing off from one second to RetryMax. It also prunes the request-id
// index. It is woken by commits that hold a record (WaitEnqueued) and by
// the clock; it returns when ctx ends.
func (s *Service) Run(ctx context.Context) {
	prune := s.clock.After(time.Minute)
	for {
		wake := s.store.WaitEnqueued(HeldQueue)
		n, err := s.deliverBatch(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("notification delivery failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		wait := s.cfg.RetryMax
		if next := s.store.Stats(HeldQueue).NextVisible; !next.IsZero() {
			if d := next.Sub(s.clock.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-s.clock.After(wait):
		case <-prune:
			if _, err := s.pruneIndex(ctx, s.clock.Now().Add(-s.cfg.IndexRetention), 1000); err != nil && ctx.Err() == nil {
				s.log.Error("pruning the request index failed", "err", err)
			}
			prune = s.clock.After(time.Minute)
		}
	}
}

// deliverBatch handles up to ten visible held records and returns how many
// it took.
func (s *Service) deliverBatch(ctx context.Context) (int, error) {
	if err := s.held.load(ctx, s.store); err != nil {
		return 0, err
	}
	leased, err := s.store.Lease(ctx, HeldQueue, storage.LeaseOptions{Max: 10, Visibility: time.Second})
	if err != nil || len(leased) == 0 {
		return 0, err
	}
	st := s.store.Stats(HeldQueue)
	excess := st.Visible + st.InFlight + st.Delayed - s.cfg.MaxHeld
	var errs []error
	settled := false
	for i := range leased {
		l := &leased[i]
		dest := destinationOf(l.Body)
		s.held.see(l.ID, dest)
		// Past the bound, the destination holding the most records
		// gives up its oldest first.
		done, err := s.deliverOne(ctx, l, excess > 0 && s.held.largest(dest))
		if done {
			settled = true
			excess--
			s.held.forget(l.ID)
		}
		errs = append(errs, err)
	}
	if settled {
		s.progressed()
	}
	return len(leased), errors.Join(errs...)
}

// deliverOne decides one held record. done reports that it left the held
// queue.
func (s *Service) deliverOne(ctx context.Context, l *storage.Leased, overLimit bool) (bool, error) {
	rid, recID := l.Attributes[attrRequestID], l.Attributes[attrRecordID]
	var env event.Envelope
	if err := env.UnmarshalBinary(l.Body); err != nil {
		return true, s.drop(ctx, l, nil, "corrupt", "the held record is unreadable: "+err.Error())
	}
	now := s.clock.Now()
	switch {
	case now.Sub(l.EnqueuedAt) > s.cfg.MaxHeldAge:
		return true, s.drop(ctx, l, &env, "max_age", "held longer than "+s.cfg.MaxHeldAge.String()+"; last reason: "+l.Attributes[attrReason])
	case overLimit:
		return true, s.drop(ctx, l, &env, "max_held", "more records held than the limit, and this destination holds the most; last reason: "+l.Attributes[attrReason])
	}
	v, err := s.dest.Check(ctx, env.Kind, env.Destination, env.Bucket)
	if err != nil {
		return false, err
	}
	if v.Status == notify.Deliverable {
		var delivered bool
		err := s.store.Update(ctx, func(tx storage.Tx) error {
			delivered = false
			switch env.Kind {
			case event.Queue:
				err := s.dest.EnqueueTx(tx, env.Destination, env.Payload)
				if errors.Is(err, ErrNoSuchDestination) {
					return nil // deleted since Check: stays held
				}
				if err != nil {
					return err
				}
				if err := tx.Ack(HeldQueue, l.Receipt); err != nil {
					return err
				}
				delivered = true
				return s.setState(tx, rid, recID, StateDelivered, "")
			case event.Function:
				err := s.dest.InvokeTx(tx, env.Destination, env.Payload, env.Lineage, env.Bucket, Ref(rid, recID))
				if errors.Is(err, ErrNoSuchDestination) {
					return nil // deleted since Check: stays held
				}
				if err != nil {
					return err
				}
				if err := tx.Ack(HeldQueue, l.Receipt); err != nil {
					return err
				}
				delivered = true
				return s.setState(tx, rid, recID, StatePending, reasonAwaitingInvocation)
			}
			return nil
		})
		if errors.Is(err, storage.ErrStaleReceipt) {
			return false, nil // leased again by someone else meanwhile
		}
		if err != nil {
			return false, err
		}
		if delivered {
			s.m.delivered.WithLabelValues(env.Kind.String()).Inc()
			s.log.Info("held notification delivered", "destination", env.Destination, "event", env.Event,
				"bucket", env.Bucket, "key", env.Key, "request_id", rid, "attempts", l.ReceiveCount)
			return true, nil
		}
	}
	// Still refused: back off, 1s, 2s, 4s, ... up to RetryMax.
	backoff := time.Second << min(max(l.ReceiveCount-1, 0), 20)
	backoff = min(backoff, s.cfg.RetryMax)
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Extend(HeldQueue, l.Receipt, now.Add(backoff)); err != nil {
			return err
		}
		return s.setState(tx, rid, recID, StateHeld, heldReason(env.Kind, v))
	})
	if errors.Is(err, storage.ErrStaleReceipt) {
		err = nil
	}
	return false, err
}

// drop removes a held record for good: logged, counted, and marked dropped
// in the index, in the commit that removes it.
func (s *Service) drop(ctx context.Context, l *storage.Leased, env *event.Envelope, label, reason string) error {
	rid, recID := l.Attributes[attrRequestID], l.Attributes[attrRecordID]
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Ack(HeldQueue, l.Receipt); err != nil {
			return err
		}
		return s.setState(tx, rid, recID, StateDropped, reason)
	})
	if errors.Is(err, storage.ErrStaleReceipt) {
		return nil
	}
	if err != nil {
		return err
	}
	kind := "unknown"
	attrs := []any{"reason", reason, "request_id", rid}
	if env != nil {
		kind = env.Kind.String()
		attrs = append(attrs, "destination", env.Destination, "event", env.Event, "bucket", env.Bucket, "key", env.Key)
	}
	s.m.dropped.WithLabelValues(kind, label).Inc()
	s.log.Warn("held notification dropped", attrs...)
	return nil
}

// Held is one held or pending record in the delivery view.
type Held struct {
	Queue       string `json:"queue"`
	Kind        string `json:"kind"`
	Destination string `json:"destination"`
	Event       string `json:"event"`
	Bucket      string `json:"bucket"`
	Key         string `json:"key,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	Reason      string `json:"reason"`
	Since       string `json:"since"`
}

// View is the delivery view: what is pending where and why.
type View struct {
	// HeldCount counts the held queue (records of refusing, missing or
	// unserved destinations); FunctionCounts each function delivery
	// queue's records, by function ARN.
	HeldCount      int            `json:"heldCount"`
	FunctionCounts map[string]int `json:"functionCounts"`
	// Records lists up to limit of them, oldest first, held ones first.
	Records []Held `json:"records"`
}

// DeliveryView returns the delivery view with at most limit records.
func (s *Service) DeliveryView(ctx context.Context, limit int) (View, error) {
	v := View{FunctionCounts: map[string]int{}, Records: []Held{}}
	st := s.store.Stats(HeldQueue)
	v.HeldCount = st.Visible + st.InFlight + st.Delayed
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var fns []string
		it, err := tx.NewIterator([]byte(functionPrefix), []byte("Nf0"))
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			fns = append(fns, string(it.Key()[len(functionPrefix):]))
		}
		if err := it.Close(); err != nil {
			return err
		}
		collect := func(queue string) error {
			return tx.Messages(queue, func(m storage.Message) bool {
				if len(v.Records) >= limit {
					return false
				}
				var env event.Envelope
				h := Held{Queue: queue, RequestID: m.Attributes[attrRequestID], Reason: m.Attributes[attrReason],
					Since: m.EnqueuedAt.UTC().Format(time.RFC3339Nano)}
				if env.UnmarshalBinary(m.Body) == nil {
					h.Kind, h.Destination, h.Event, h.Bucket, h.Key = env.Kind.String(), env.Destination, string(env.Event), env.Bucket, env.Key
				}
				v.Records = append(v.Records, h)
				return true
			})
		}
		if err := collect(HeldQueue); err != nil {
			return err
		}
		for _, fn := range fns {
			fst := s.store.Stats(FunctionQueue(fn))
			v.FunctionCounts[fn] = fst.Visible + fst.InFlight + fst.Delayed
			if err := collect(FunctionQueue(fn)); err != nil {
				return err
			}
		}
		return nil
	})
	return v, err
}
