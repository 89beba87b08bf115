package eventsource

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"sluice/internal/event"
)

// longPoll is the SQS long poll a poller waits in (its maximum, 20 s).
const longPoll = 20 * time.Second

// sqsRecord is one record of the SQS event Lambda sends (the member order
// is Lambda's).
type sqsRecord struct {
	MessageID              string                  `json:"messageId"`
	ReceiptHandle          string                  `json:"receiptHandle"`
	Body                   string                  `json:"body"`
	Attributes             map[string]string       `json:"attributes"`
	MessageAttributes      map[string]sqsAttribute `json:"messageAttributes"`
	MD5OfMessageAttributes string                  `json:"md5OfMessageAttributes,omitempty"`
	MD5OfBody              string                  `json:"md5OfBody"`
	EventSource            string                  `json:"eventSource"`
	EventSourceARN         string                  `json:"eventSourceARN"`
	AWSRegion              string                  `json:"awsRegion"`
}

type sqsAttribute struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      *string  `json:"binaryValue,omitempty"` // base64
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// Event builds the SQS event for msgs from the queue sourceARN.
func Event(region, sourceARN string, msgs []Message) []byte {
	recs := make([]sqsRecord, len(msgs))
	for i, m := range msgs {
		attrs := map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
			"SentTimestamp":                    strconv.FormatInt(m.Sent.UnixMilli(), 10),
			"SenderId":                         m.SenderID,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceive.UnixMilli(), 10),
		}
		if m.TraceHeader != "" {
			attrs["AWSTraceHeader"] = m.TraceHeader
		}
		mas := map[string]sqsAttribute{}
		for k, a := range m.Attributes {
			sa := sqsAttribute{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
			if a.BinaryValue != nil {
				v := base64.StdEncoding.EncodeToString(a.BinaryValue)
				sa.BinaryValue = &v
			} else {
				v := a.StringValue
				sa.StringValue = &v
			}
			mas[k] = sa
		}
		recs[i] = sqsRecord{MessageID: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: attrs,
			MessageAttributes: mas, MD5OfMessageAttributes: m.MD5OfAttributes, MD5OfBody: m.MD5OfBody,
			EventSource: "aws:sqs", EventSourceARN: sourceARN, AWSRegion: region}
	}
	b, _ := json.Marshal(struct {
		Records []sqsRecord `json:"Records"`
	}{recs})
	return b
}

// poll is one poller of mapping r: take a batch, invoke, delete, until
// ctx ends.
func (s *Service) poll(ctx context.Context, r record) {
	log := s.log.With("uuid", r.UUID, "function", r.Function, "source", r.Source)
	for ctx.Err() == nil {
		queue, err := s.queues.QueueName(ctx, r.Source)
		if err != nil {
			s.setResult(r.UUID, "PROBLEM: the queue does not exist")
			log.Warn("event source queue unavailable", "err", err)
			s.pause(ctx)
			continue
		}
		batch, err := s.batch(ctx, queue, r)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("event source receive failed", "err", err)
				s.pause(ctx)
			}
			continue
		}
		if len(batch) == 0 {
			continue
		}
		// A batch that was taken runs to its end even if the mapping is
		// deleted meanwhile: the messages are hidden already.
		s.deliver(context.WithoutCancel(ctx), queue, r, batch, log)
	}
}

// pause waits Backoff on the injected clock, or until ctx ends.
func (s *Service) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.clock.After(s.backoff):
	}
}

// batch long-polls for the first message, then keeps receiving until the
// batch holds BatchSize messages or MaximumBatchingWindowInSeconds passed
// since the first one arrived.
func (s *Service) batch(ctx context.Context, queue string, r record) ([]Message, error) {
	msgs, err := s.queues.Receive(ctx, queue, min(r.BatchSize, 10), longPoll)
	if err != nil || len(msgs) == 0 || len(msgs) >= r.BatchSize || r.Window == 0 {
		return msgs, err
	}
	deadline := s.clock.Now().Add(time.Duration(r.Window) * time.Second)
	for len(msgs) < r.BatchSize && ctx.Err() == nil {
		left := deadline.Sub(s.clock.Now())
		if left <= 0 {
			break
		}
		more, err := s.queues.Receive(ctx, queue, min(r.BatchSize-len(msgs), 10), min(left, longPoll))
		if err != nil {
			// What was taken is still delivered; the error shows next time.
			break
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

// deliver invokes the function with the batch and deletes what succeeded.
func (s *Service) deliver(ctx context.Context, queue string, r record, batch []Message, log interface {
	Warn(string, ...any)
	Debug(string, ...any)
}) {
	batch = s.stopRecursive(ctx, r, batch, log)
	if len(batch) == 0 {
		return
	}
	payload := Event(s.region, r.Source, batch)
	result, fnErr, err := s.fns.Invoke(ctx, r.Function, payload, batchLineage(batch))
	switch {
	case err != nil:
		// A throttle or a missing function: the messages come back after
		// their visibility timeout; wait before the next batch.
		s.setResult(r.UUID, "PROBLEM: Function call failed")
		log.Warn("event source invocation failed", "err", err, "messages", len(batch))
		s.pause(ctx)
		return
	case fnErr:
		s.setResult(r.UUID, "PROBLEM: Function call failed")
		log.Debug("event source batch failed; messages return after their visibility timeout", "messages", len(batch))
		return
	}
	handles := make([]string, 0, len(batch))
	if len(r.ResponseTypes) > 0 {
		failed, ok := batchItemFailures(result, batch)
		if !ok {
			s.setResult(r.UUID, "PROBLEM: Function response invalid")
			log.Warn("event source batch: unreadable batchItemFailures, the whole batch fails", "response", string(truncate(result, 256)))
			return
		}
		for _, m := range batch {
			if !failed[m.ID] {
				handles = append(handles, m.ReceiptHandle)
			}
		}
	} else {
		for _, m := range batch {
			handles = append(handles, m.ReceiptHandle)
		}
	}
	if err := s.queues.Delete(ctx, queue, handles); err != nil {
		log.Warn("event source delete failed; messages will run again", "err", err)
	}
	s.setResult(r.UUID, "OK")
}

// stopRecursive returns the messages of batch that may be passed to the
// function. A message whose chain already ran 16 invocations (a function
// keeps sending to the queue that triggers it) is left out when the
// function's RecursiveLoop is Terminate, as Lambda does: it is not
// deleted, so it comes back after its visibility timeout and the queue's
// redrive policy moves it to the dead-letter queue past maxReceiveCount.
// Each one is logged and counted. When the check fails (the function
// was deleted meanwhile), the message is passed on and Invoke reports the
// problem.
func (s *Service) stopRecursive(ctx context.Context, r record, batch []Message, log interface {
	Warn(string, ...any)
	Debug(string, ...any)
}) []Message {
	kept := batch[:0:0]
	stopped := 0
	for _, m := range batch {
		stop, err := s.fns.StopsRecursion(ctx, r.Function, m.Lineage)
		if err != nil || !stop {
			kept = append(kept, m)
			continue
		}
		stopped++
		log.Warn("recursive loop detected: message not passed to the function; it returns after its visibility timeout (the queue's redrive policy moves it to its dead-letter queue)",
			"message_id", m.ID, "chain_depth", len(m.Lineage.Chain), "trace_id", m.Lineage.TraceID, "receive_count", m.ReceiveCount)
	}
	if stopped == 0 {
		return batch
	}
	s.fns.CountRecursionStopped(r.Function, stopped)
	return kept
}

// batchLineage is the lineage the function runs with for a batch: that of
// its longest chain, so that what the function sends continues the chain
// closest to the limit (a loop cannot hide behind a fresh message batched
// with it).
func batchLineage(batch []Message) event.Lineage {
	var l event.Lineage
	for _, m := range batch {
		if len(m.Lineage.Chain) > len(l.Chain) {
			l = m.Lineage
		}
	}
	return l
}

// batchItemFailures reads a ReportBatchItemFailures answer. Lambda's
// rules: an empty or null answer, or an empty list, is success for all;
// an itemIdentifier that is empty or names no message of the batch, or an
// answer that is not the expected shape, fails the whole batch (ok false).
func batchItemFailures(result []byte, batch []Message) (map[string]bool, bool) {
	failed := map[string]bool{}
	if len(result) == 0 || string(result) == "null" {
		return failed, true
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(result, &resp); err != nil {
		// Answers that are not an object (a string, a number) count as
		// success on Lambda; only a malformed object fails the batch.
		var anything any
		if json.Unmarshal(result, &anything) == nil {
			if _, isObj := anything.(map[string]any); !isObj {
				return failed, true
			}
		}
		return nil, false
	}
	ids := map[string]bool{}
	for _, m := range batch {
		ids[m.ID] = true
	}
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" || !ids[*f.ItemIdentifier] {
			return nil, false
		}
		failed[*f.ItemIdentifier] = true
	}
	return failed, true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (s *Service) setResult(id, res string) {
	s.mu.Lock()
	s.lastResult[id] = res
	s.mu.Unlock()
}
