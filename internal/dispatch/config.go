package dispatch

import (
	"bytes"
	"context"
	"errors"

	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/storage"
)

func configKey(bucket string) []byte { return []byte(configPrefix + bucket) }

// PutOptions are the headers of PutBucketNotificationConfiguration that
// change what it does.
type PutOptions struct {
	// SkipDestinationValidation is x-amz-skip-destination-validation.
	SkipDestinationValidation bool
}

// PutConfiguration validates cfg (notify.Validate, in S3's order, with the
// destinations asked through Destinations) and, when it is valid, replaces
// the bucket's configuration atomically: in one transaction it stores cfg
// (or removes the stored one when cfg is empty) and enqueues the
// s3:TestEvent message to every queue and topic destination that exists
// (notify.TestTargets), never to functions. The request and host ids of
// the test message come from event.OriginFrom(ctx).
//
// Outcomes: nil; a *notify.Error when S3 would refuse cfg (nothing is
// stored or sent); the Buckets' no-such-bucket error; any other error is
// internal (nothing is stored or sent either).
func (s *Service) PutConfiguration(ctx context.Context, bucket string, cfg *notify.Configuration, opts PutOptions) error {
	report, err := notify.Validate(ctx, cfg, notify.ValidateOptions{
		Bucket: bucket, SkipDestinationValidation: opts.SkipDestinationValidation, Destinations: s.dest,
	})
	if err != nil {
		return err
	}
	origin, _ := event.OriginFrom(ctx)
	now := s.clock.Now()
	var raw []byte
	if !cfg.Empty() {
		raw = notify.Encode(cfg)
	}
	err = s.cfg.Buckets.UpdateBucket(ctx, bucket, func(tx storage.Tx) error {
		if raw == nil {
			if err := tx.Delete(configKey(bucket)); err != nil {
				return err
			}
		} else if err := tx.Set(configKey(bucket), raw); err != nil {
			return err
		}
		msg := event.TestMessage{Bucket: bucket, Time: now, RequestID: origin.RequestID, HostID: origin.HostID}.Encode()
		for _, t := range notify.TestTargets(cfg, report) {
			v, _ := report.Verdict(t.Kind, t.ARN)
			env := &event.Envelope{
				Payload: msg, Kind: t.Kind, Destination: t.ARN, Event: event.TestEvent,
				Bucket: bucket, Time: now, Lineage: lineage(origin),
			}
			if err := s.route(tx, env, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cfg.EventBridge {
		s.m.eventBridge.Inc()
		s.log.Warn("notification configuration has EventBridgeConfiguration: it is stored and returned, but Sluice delivers nothing to EventBridge",
			"bucket", bucket, "request_id", origin.RequestID)
	}
	return nil
}

// GetConfiguration returns the bucket's stored configuration, or the empty
// configuration when none is stored. The Buckets' no-such-bucket error when
// the bucket does not exist.
func (s *Service) GetConfiguration(ctx context.Context, bucket string) (*notify.Configuration, error) {
	var cfg *notify.Configuration
	err := s.cfg.Buckets.ViewBucket(ctx, bucket, func(tx storage.ReadTx) error {
		var err error
		cfg, err = s.loadConfig(tx, bucket)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = &notify.Configuration{}
	}
	return cfg, nil
}

// BucketDeleted removes the bucket's configuration in the transaction that
// deletes the bucket (object.BucketRemover), so that a bucket created again
// under the same name has none.
func (s *Service) BucketDeleted(_ context.Context, tx storage.Tx, bucket string) error {
	return tx.Delete(configKey(bucket))
}

// loadConfig reads the bucket's configuration in tx: nil when none is
// stored. Decoded configurations are cached by their stored bytes.
func (s *Service) loadConfig(tx storage.ReadTx, bucket string) (*notify.Configuration, error) {
	raw, err := tx.Get(configKey(bucket))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.configs[bucket]
	s.mu.Unlock()
	if ok && bytes.Equal(c.raw, raw) {
		return c.cfg, nil
	}
	cfg, err := notify.Decode(raw, notify.DecodeOptions{})
	if err != nil {
		return nil, errors.Join(errors.New("dispatch: stored notification configuration of "+bucket+" is unreadable"), err)
	}
	s.mu.Lock()
	s.configs[bucket] = cachedConfig{raw: bytes.Clone(raw), cfg: cfg}
	s.mu.Unlock()
	return cfg, nil
}

func lineage(o event.Origin) event.Lineage {
	l := o.Lineage
	if l.RequestID == "" {
		l.RequestID = o.RequestID
	}
	return l
}

// SetBuckets sets Config.Buckets after New, for a composition root that
// builds the bucket owner (object.Service) with this Service as its
// publisher. Call it before serving requests.
func (s *Service) SetBuckets(b Buckets) { s.cfg.Buckets = b }
