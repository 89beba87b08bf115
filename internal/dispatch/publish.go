package dispatch

import (
	"context"
	"errors"
	"strings"

	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/storage"
)

// Attributes of the storage messages dispatch enqueues (held records and
// function records): which index entry the record has, and why it is held.
const (
	attrRequestID = "rid"
	attrRecordID  = "rec"
	attrReason    = "reason"
)

// Publish is object.Publisher: it runs inside the transaction that commits
// the change c and writes, through tx only, one record per matching rule of
// the bucket's configuration (read in tx, so the newest configuration
// applies), with its request-id index entry. It may run again when tx is
// retried (it has no other effect than the sequencer values it draws,
// which are then skipped). An error aborts the change.
func (s *Service) Publish(ctx context.Context, tx storage.Tx, c event.Change) error {
	cfg, err := s.loadConfig(tx, c.Bucket)
	if err != nil || cfg == nil {
		return err
	}
	targets := notify.Match(cfg, c.Name, c.Key)
	if len(targets) == 0 {
		return nil
	}
	origin, _ := event.OriginFrom(ctx)
	rec := event.Record{
		Name: c.Name, Region: s.cfg.Region, Time: c.Time,
		PrincipalID: origin.PrincipalID, SourceIP: origin.SourceIP,
		RequestID: origin.RequestID, HostID: origin.HostID,
		Bucket: c.Bucket, BucketOwner: s.cfg.OwnerID,
		Key: c.Key, Size: c.Size, ETag: c.ETag, VersionID: c.VersionID,
	}
	// One sequencer per change, shared by every destination's copy, as S3
	// does; drawn after the object change wrote its key (event/doc.go).
	if rec.Sequencer, err = s.seq.Next(); err != nil {
		return err
	}
	for _, t := range targets {
		rec.ConfigurationID = t.ConfigurationID
		payload, err := event.Encode(rec)
		if err != nil {
			return err
		}
		v, err := s.dest.Check(ctx, t.Kind, t.ARN, c.Bucket)
		if err != nil {
			return err
		}
		env := &event.Envelope{
			Payload: payload, Kind: t.Kind, Destination: t.ARN, ConfigurationID: t.ConfigurationID,
			Event: c.Name, Bucket: c.Bucket, Key: c.Key, Time: c.Time, Lineage: lineage(origin),
		}
		if err := s.route(tx, env, v); err != nil {
			return err
		}
	}
	return nil
}

// route writes one envelope in tx where its verdict sends it: straight into
// a local queue that accepts it, into a function's delivery queue, or into
// the held queue with the reason; plus its index entry.
func (s *Service) route(tx storage.Tx, env *event.Envelope, v notify.Verdict) error {
	recordID, err := s.seq.Next()
	if err != nil {
		return err
	}
	e := entry{Kind: env.Kind, Destination: env.Destination, Event: env.Event, Key: env.Key, Time: env.Time}
	if v.Status == notify.Deliverable {
		switch env.Kind {
		case event.Queue:
			err := s.dest.EnqueueTx(tx, env.Destination, env.Payload)
			if err == nil {
				e.State = StateDelivered
				return s.putEntry(tx, env.Lineage.RequestID, recordID, &e)
			}
			if !errors.Is(err, ErrNoSuchDestination) {
				return err
			}
			v = notify.Verdict{Status: notify.Missing, Reason: "the queue does not exist"}
		case event.Function:
			err := s.dest.InvokeTx(tx, env.Destination, env.Payload, env.Lineage, env.Bucket, Ref(env.Lineage.RequestID, recordID))
			if err == nil {
				e.State, e.Reason = StatePending, reasonAwaitingInvocation
				return s.putEntry(tx, env.Lineage.RequestID, recordID, &e)
			}
			if !errors.Is(err, ErrNoSuchDestination) {
				return err
			}
			v = notify.Verdict{Status: notify.Missing, Reason: "the function does not exist"}
		}
	}
	e.State, e.Reason = StateHeld, heldReason(env.Kind, v)
	if err := s.enqueueEnvelope(tx, HeldQueue, env, recordID, e.Reason); err != nil {
		return err
	}
	return s.putEntry(tx, env.Lineage.RequestID, recordID, &e)
}

// reasonAwaitingInvocation: a function's record is in its invocation
// queue until the invocation finished (success, or its final failure
// handled).
const reasonAwaitingInvocation = "queued for asynchronous invocation of the function"

// Ref is the reference a function invocation carries for its index entry
// (handed back to Settled).
func Ref(requestID, recordID string) string { return requestID + "\x00" + recordID }

// Settled records in tx that the function invocation ref (from Ref)
// finished: delivered, or refused by the function's policy at delivery
// (dropped with reason). Call Progressed after the commit. A malformed
// ref is ignored.
func (s *Service) Settled(tx storage.Tx, ref string, delivered bool, reason string) error {
	rid, rec, ok := strings.Cut(ref, "\x00")
	if !ok {
		return nil
	}
	if delivered {
		return s.setState(tx, rid, rec, StateDelivered, "")
	}
	return s.setState(tx, rid, rec, StateDropped, reason)
}

func heldReason(kind event.DestinationKind, v notify.Verdict) string {
	s := "the destination " + kind.String() + " " + map[notify.Status]string{
		notify.Missing: "does not exist", notify.Refused: "refuses S3", notify.Deliverable: "accepts S3",
	}[v.Status]
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

func (s *Service) enqueueEnvelope(tx storage.Tx, queue string, env *event.Envelope, recordID, reason string) error {
	body, err := env.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(queue, storage.Message{Body: body, Attributes: map[string]string{
		attrRequestID: env.Lineage.RequestID, attrRecordID: recordID, attrReason: reason,
	}})
	return err
}
