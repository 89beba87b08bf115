package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// Keys of storage.Message.Attributes that the queue package writes. The
// store does not interpret them; Move keeps them.
const (
	metaID     = "sqs.id"     // the SQS MessageId (a UUID)
	metaSender = "sqs.sender" // SenderId
	metaTrace  = "sqs.trace"  // AWSTraceHeader
	metaAttrs  = "sqs.attrs"  // message attributes, JSON
	metaSource = "sqs.src"    // ARN of the queue the message was sent to
)

// Limits of SQS (API reference, SendMessage and ReceiveMessage).
const (
	MaxBatchEntries   = 10
	MaxAttributes     = 10
	maxAttrNameLen    = 256
	maxDataTypeLen    = 256
	maxVisibility     = 43200
	maxDelaySeconds   = 900
	maxWaitSeconds    = 20
	maxReceiveMessage = 10
)

// Attribute is a message attribute. DataType is String, Number or Binary,
// optionally followed by ".label".
type Attribute struct {
	DataType    string `json:"t"`
	StringValue string `json:"s,omitempty"`
	BinaryValue []byte `json:"b,omitempty"`
}

// SendInput is one message to send.
type SendInput struct {
	Body string
	// DelaySeconds overrides the queue's DelaySeconds (0..900) when set.
	DelaySeconds *int
	Attributes   map[string]Attribute
	// TraceHeader is the AWSTraceHeader system attribute.
	TraceHeader string
	// SenderID is the caller's principal (the SenderId attribute).
	SenderID string
	// Lineage is the invocation chain of the function that sent the
	// message (empty when no function did). It is stored with the
	// message, never shown to clients (lineage.go).
	Lineage event.Lineage
}

// SendResult is what SendMessage answers.
type SendResult struct {
	MessageID       string
	MD5OfBody       string
	MD5OfAttributes string // "" without attributes
}

// ReceiveInput tunes Receive.
type ReceiveInput struct {
	Max int // 1..10; 0 means 1
	// Wait is the long poll's limit (0..20 s); nil takes the queue's
	// ReceiveMessageWaitTimeSeconds.
	Wait *time.Duration
	// Visibility overrides the queue's VisibilityTimeout when set.
	Visibility *time.Duration
}

// Message is a received message with everything an SQS response may show;
// the edge picks the attributes the request asked for.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          string
	Attributes    map[string]Attribute
	SenderID      string
	TraceHeader   string
	Sent          time.Time
	FirstReceive  time.Time
	ReceiveCount  int
	// DeadLetterSourceARN is the queue the message was sent to, when it is
	// not this one (it came here by redrive).
	DeadLetterSourceARN string
	// Lineage is SendInput.Lineage as stored: for Sluice's event source
	// mappings (loop detection), never for an SQS response.
	Lineage event.Lineage
}

// validBodyRune reports whether r is a character SQS accepts: #x9 | #xA |
// #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBodyRune(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

const invalidCharsMessage = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

func checkChars(s string) bool {
	for i := 0; i < len(s); {
		// ASCII, nearly every body (S3 and SNS event JSON included),
		// without decoding a rune.
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != 0x9 && c != 0xA && c != 0xD {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || !validBodyRune(r) {
			return false
		}
		i += n
	}
	return true
}

// validAttrName: up to 256 of [A-Za-z0-9_.-], no leading, trailing or
// doubled '.', and not starting with "AWS." or "Amazon." (reserved).
func validAttrName(n string) bool {
	if n == "" || len(n) > maxAttrNameLen || n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return false
	}
	l := strings.ToLower(n)
	if strings.HasPrefix(l, "aws.") || strings.HasPrefix(l, "amazon.") {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validateAttributes checks message attributes and returns their size
// as SQS counts it toward MaximumMessageSize (name, type and value).
func validateAttributes(attrs map[string]Attribute) (int, error) {
	if len(attrs) > MaxAttributes {
		return 0, paramErr("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), MaxAttributes)
	}
	size := 0
	for _, n := range sortedKeys(attrs) {
		a := attrs[n]
		if !validAttrName(n) {
			return 0, paramErr("Message (user) attribute name '%s' is invalid. Names can contain alphanumeric characters, hyphens (-), underscores (_) and periods (.), must not start or end with a period or contain two in a row, and must not start with AWS. or Amazon.", n)
		}
		if a.DataType == "" {
			return 0, paramErr("The message attribute '%s' must contain a non-empty message attribute type.", n)
		}
		if len(a.DataType) > maxDataTypeLen || !checkChars(a.DataType) {
			return 0, paramErr("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", n)
		}
		switch baseType(a.DataType) {
		case "String", "Number":
			if a.StringValue == "" {
				return 0, paramErr("The message attribute '%s' must contain a non-empty message attribute value for message attribute type '%s'.", n, a.DataType)
			}
			if !checkChars(a.StringValue) {
				return 0, paramErr("The message attribute '%s' contains invalid characters.", n)
			}
			if baseType(a.DataType) == "Number" {
				if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
					return 0, paramErr("Can't cast the value of message (user) attribute '%s' to a number.", n)
				}
			}
			if len(a.BinaryValue) > 0 {
				return 0, paramErr("Message (user) attribute '%s' with type '%s' must use field 'String'.", n, a.DataType)
			}
			size += len(a.StringValue)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, paramErr("The message attribute '%s' must contain a non-empty message attribute value for message attribute type '%s'.", n, a.DataType)
			}
			if a.StringValue != "" {
				return 0, paramErr("Message (user) attribute '%s' with type '%s' must use field 'Binary'.", n, a.DataType)
			}
			size += len(a.BinaryValue)
		default:
			return 0, paramErr("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", n)
		}
		size += len(n) + len(a.DataType)
	}
	return size, nil
}

// validateSend checks one message against the queue's limits and returns
// when it becomes visible.
func (s *Service) validateSend(r *record, in *SendInput, now time.Time) (time.Time, error) {
	if in.Body == "" {
		return time.Time{}, &MissingError{Name: "MessageBody"}
	}
	if !checkChars(in.Body) {
		return time.Time{}, &ContentsError{Message: invalidCharsMessage}
	}
	attrSize, err := validateAttributes(in.Attributes)
	if err != nil {
		return time.Time{}, err
	}
	if max := r.intAttr(AttrMaximumMessageSize); len(in.Body)+attrSize > max {
		return time.Time{}, paramErr("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", max)
	}
	if len(in.TraceHeader) > 0 && !checkChars(in.TraceHeader) {
		return time.Time{}, paramErr("The message system attribute 'AWSTraceHeader' contains invalid characters.")
	}
	delay := r.intAttr(AttrDelaySeconds)
	if in.DelaySeconds != nil {
		delay = *in.DelaySeconds
		if delay < 0 || delay > maxDelaySeconds {
			return time.Time{}, paramErr("Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", delay)
		}
	}
	if delay == 0 {
		return time.Time{}, nil
	}
	return now.Add(time.Duration(delay) * time.Second), nil
}

func (s *Service) storedMessage(r *record, in *SendInput, visibleAt time.Time) (storage.Message, SendResult) {
	m, id := s.newMessage(r, in, visibleAt)
	m.Body = []byte(in.Body)
	return m, SendResult{MessageID: id, MD5OfBody: MD5OfBody(in.Body), MD5OfAttributes: MD5OfAttributes(in.Attributes)}
}

// newMessage is storedMessage without the body and the digests, for
// EnqueueTx, which stores its caller's body bytes as they are and whose
// caller only wants the MessageId (the MD5s a receiver sees are computed
// at receive time from the stored body): an event record is enqueued on
// every notifying PUT, so a digest and a body copy there are pure cost.
func (s *Service) newMessage(r *record, in *SendInput, visibleAt time.Time) (storage.Message, string) {
	id := newUUID()
	meta := map[string]string{metaID: id, metaSource: s.ARN(r.Name)}
	if in.SenderID != "" {
		meta[metaSender] = in.SenderID
	}
	if in.TraceHeader != "" {
		meta[metaTrace] = in.TraceHeader
	}
	if len(in.Attributes) > 0 {
		raw, _ := json.Marshal(in.Attributes)
		meta[metaAttrs] = string(raw)
	}
	if lin := encodeLineage(in.Lineage); lin != "" {
		meta[metaLineage] = lin
	}
	return storage.Message{Attributes: meta, VisibleAt: visibleAt}, id
}

// Send stores one message. It is durable when Send returns nil. Errors:
// ErrNoSuchQueue, *MissingError (empty body), *ContentsError (invalid
// characters), *ParameterError (too large, bad DelaySeconds or
// attributes); nothing is stored on error.
func (s *Service) Send(ctx context.Context, name string, in SendInput) (SendResult, error) {
	var res SendResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := s.cachedRecord(tx, name)
		if err != nil {
			return err
		}
		visibleAt, err := s.validateSend(r, &in, s.clock.Now())
		if err != nil {
			return err
		}
		var m storage.Message
		m, res = s.storedMessage(r, &in, visibleAt)
		_, err = tx.Enqueue(r.storageName(), m)
		return err
	})
	return res, err
}

// SendBatch stores the valid messages of entries in one durable commit.
// For each entry it returns its result or its error (as Send's); err is
// for the whole batch (ErrNoSuchQueue, storage failures), and then
// nothing is stored.
func (s *Service) SendBatch(ctx context.Context, name string, entries []SendInput) ([]SendResult, []error, error) {
	var (
		results []SendResult
		errs    []error
	)
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		results, errs = make([]SendResult, len(entries)), make([]error, len(entries))
		r, err := s.cachedRecord(tx, name)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		for i := range entries {
			visibleAt, err := s.validateSend(r, &entries[i], now)
			if err != nil {
				errs[i] = err
				continue
			}
			m, res := s.storedMessage(r, &entries[i], visibleAt)
			if _, err := tx.Enqueue(r.storageName(), m); err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return results, errs, nil
}

// EnqueueTx adds a message to queue name inside the caller's transaction,
// so that it commits with the caller's other writes (an S3 event record
// with its object change; issue 6). attrs become string message
// attributes; senderID is the SenderId receivers see. It returns the
// MessageId, or ErrNoSuchQueue. Like every Update function it has no
// effect outside tx.
func (s *Service) EnqueueTx(tx storage.Tx, name string, body []byte, senderID string, attrs map[string]Attribute) (string, error) {
	r, err := s.cachedRecord(tx, name)
	if err != nil {
		return "", err
	}
	in := SendInput{Body: string(body), SenderID: senderID, Attributes: attrs}
	visibleAt, err := s.validateSend(r, &in, s.clock.Now())
	if err != nil {
		return "", err
	}
	m, id := s.newMessage(r, &in, visibleAt)
	// tx.Enqueue encodes the message at once and keeps no reference to
	// it, so the caller's body can be stored without a second copy.
	m.Body = body
	if _, err := tx.Enqueue(r.storageName(), m); err != nil {
		return "", err
	}
	return id, nil
}

// Receipt handles. An SQS ReceiptHandle is the standard base64 of
//
//	"s1:" <queue name> ":" <queue incarnation> ":" <engine receipt>
//
// so that a handle names the queue it was issued for (a handle used on
// another queue is invalid; one from a deleted and recreated queue is
// stale) and carries the storage engine's own receipt, which is opaque.
const handleVersion = "s1"

func encodeHandle(r *record, receipt string) string {
	return base64.StdEncoding.EncodeToString([]byte(handleVersion + ":" + r.Name + ":" + r.Incarnation + ":" + receipt))
}

// decodeHandle returns the incarnation and engine receipt of a handle
// issued for queue name, or ErrInvalidReceipt.
func decodeHandle(name, handle string) (inc, receipt string, err error) {
	if handle == "" || len(handle) > 4096 {
		return "", "", ErrInvalidReceipt
	}
	raw, err := base64.StdEncoding.DecodeString(handle)
	if err != nil {
		return "", "", ErrInvalidReceipt
	}
	parts := strings.SplitN(string(raw), ":", 4)
	if len(parts) != 4 || parts[0] != handleVersion || parts[1] != name || parts[2] == "" || parts[3] == "" {
		return "", "", ErrInvalidReceipt
	}
	return parts[2], parts[3], nil
}

// Receive hands out up to in.Max visible messages, each hidden for the
// visibility timeout and with a new receipt handle. When none is visible
// it waits (long poll) until one is enqueued or becomes visible, the wait
// is over, ctx ends, or the service closes, whichever comes first; it
// never polls while idle. Before each attempt to take messages it checks
// that ctx (the client) is still there, so a gone client takes nothing.
// A message whose receive count would exceed the RedrivePolicy's
// maxReceiveCount is moved to the dead-letter queue instead of being
// returned; messages older than MessageRetentionPeriod are deleted.
//
// Returns no messages and nil at the end of the wait or on Close;
// ctx.Err() when ctx ends; ErrNoSuchQueue; *ParameterError for Max, Wait
// or Visibility out of range.
func (s *Service) Receive(ctx context.Context, name string, in ReceiveInput) ([]Message, error) {
	if in.Max == 0 {
		in.Max = 1
	}
	if in.Max < 1 || in.Max > maxReceiveMessage {
		return nil, paramErr("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", in.Max)
	}
	if in.Wait != nil && (*in.Wait < 0 || *in.Wait > maxWaitSeconds*time.Second) {
		return nil, paramErr("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", int(in.Wait.Seconds()))
	}
	if in.Visibility != nil && (*in.Visibility < 0 || *in.Visibility > maxVisibility*time.Second) {
		return nil, paramErr("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", int(in.Visibility.Seconds()))
	}
	r, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	wait := time.Duration(r.intAttr(AttrReceiveMessageWaitTime)) * time.Second
	if in.Wait != nil {
		wait = *in.Wait
	}
	visibility := time.Duration(r.intAttr(AttrVisibilityTimeout)) * time.Second
	if in.Visibility != nil {
		visibility = *in.Visibility
	}
	retention := time.Duration(r.intAttr(AttrMessageRetentionPeriod)) * time.Second
	rp, hasRedrive := r.redrive()
	sq := r.storageName()
	deadline := s.clock.Now().Add(wait)

	for {
		// Subscribe before looking, so an enqueue that commits between
		// the look and the wait still wakes us.
		woken := s.store.WaitEnqueued(sq)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-s.done:
			return nil, nil
		default:
		}
		now := s.clock.Now()
		leased, err := s.store.Lease(ctx, sq, storage.LeaseOptions{
			Max: in.Max, Visibility: visibility, ExpireBefore: now.Add(-retention),
		})
		if err != nil {
			return nil, err
		}
		if hasRedrive {
			leased, err = s.redrive(ctx, r, rp, leased)
			if err != nil {
				return nil, err
			}
		}
		if len(leased) > 0 {
			out := make([]Message, len(leased))
			for i := range leased {
				out[i] = s.toMessage(r, &leased[i])
			}
			return out, nil
		}
		now = s.clock.Now()
		if !now.Before(deadline) {
			return nil, nil
		}
		timeout := deadline.Sub(now)
		if next := s.store.Stats(sq).NextVisible; !next.IsZero() && next.Sub(now) < timeout {
			timeout = max(next.Sub(now), 0)
		}
		select {
		case <-woken:
		case <-s.clock.After(timeout):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, nil
		}
	}
}

// redrive moves the leased messages whose receive count exceeds
// maxReceiveCount to the dead-letter queue, in one commit, and returns
// the others. A missing dead-letter queue leaves messages where they are
// (they are delivered; the RedrivePolicy was checked when it was set).
func (s *Service) redrive(ctx context.Context, r *record, rp RedrivePolicy, leased []storage.Leased) ([]storage.Leased, error) {
	var over []int
	for i := range leased {
		if leased[i].ReceiveCount > rp.MaxReceiveCount {
			over = append(over, i)
		}
	}
	if len(over) == 0 {
		return leased, nil
	}
	dlqName, err := s.NameFromARN(rp.DeadLetterTargetArn)
	if err != nil {
		s.log.Warn("redrive: dead-letter queue is not local; delivering", "queue", r.Name, "dlq", rp.DeadLetterTargetArn)
		return leased, nil
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		dlq, err := s.cachedRecord(tx, dlqName)
		if err != nil {
			return err
		}
		for _, i := range over {
			err := tx.Move(r.storageName(), leased[i].Receipt, dlq.storageName())
			if err != nil && !errors.Is(err, storage.ErrStaleReceipt) {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrNoSuchQueue) {
		s.log.Warn("redrive: dead-letter queue does not exist; delivering", "queue", r.Name, "dlq", dlqName)
		return leased, nil
	}
	if err != nil {
		return nil, err
	}
	kept := leased[:0]
	j := 0
	for i := range leased {
		if j < len(over) && over[j] == i {
			j++
			continue
		}
		kept = append(kept, leased[i])
	}
	return kept, nil
}

func (s *Service) toMessage(r *record, l *storage.Leased) Message {
	m := Message{
		ID:            l.Attributes[metaID],
		ReceiptHandle: encodeHandle(r, l.Receipt),
		Body:          string(l.Body),
		SenderID:      l.Attributes[metaSender],
		TraceHeader:   l.Attributes[metaTrace],
		Sent:          l.EnqueuedAt,
		FirstReceive:  l.FirstLeased,
		ReceiveCount:  l.ReceiveCount,
	}
	if m.ID == "" {
		m.ID = l.ID // enqueued by another part of Sluice without an SQS id
	}
	if raw := l.Attributes[metaAttrs]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &m.Attributes); err != nil {
			s.log.Warn("message attributes unreadable", "queue", r.Name, "id", m.ID, "err", err)
		}
	}
	if src := l.Attributes[metaSource]; src != "" && src != s.ARN(r.Name) {
		m.DeadLetterSourceARN = src
	}
	if raw := l.Attributes[metaLineage]; raw != "" {
		lin, ok := decodeLineage(raw)
		if !ok {
			// Without its lineage the message only loses loop detection.
			s.log.Warn("message lineage unreadable", "queue", r.Name, "id", m.ID)
		}
		m.Lineage = lin
	}
	return m
}

// handleOp runs fn with the engine receipt of handle in a transaction.
// A handle from an earlier incarnation of the queue is stale.
func (s *Service) handleOp(ctx context.Context, name, handle string, fn func(tx storage.Tx, sq, receipt string) error) error {
	return s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := s.cachedRecord(tx, name)
		if err != nil {
			return err
		}
		inc, receipt, err := decodeHandle(name, handle)
		if err != nil {
			return err
		}
		if r.Incarnation != inc {
			return storage.ErrStaleReceipt
		}
		return fn(tx, r.storageName(), receipt)
	})
}

// DeleteMessage deletes the message the receipt handle names. A stale
// but well-formed handle (the message was deleted, or received again
// since) deletes nothing and is not an error, as on AWS. Errors:
// ErrNoSuchQueue, ErrInvalidReceipt (malformed, or issued for another
// queue).
func (s *Service) DeleteMessage(ctx context.Context, name, handle string) error {
	err := s.handleOp(ctx, name, handle, func(tx storage.Tx, sq, receipt string) error {
		return tx.Ack(sq, receipt)
	})
	return mapReceiptErr(err, nil)
}

// DeleteBatch deletes the messages of handles in one durable commit
// (DeleteMessageBatch), so a batch costs one WAL sync, not one per entry.
// errs[i] is the outcome of handles[i] as DeleteMessage's: nil (deleted,
// or stale and so nothing to delete) or ErrInvalidReceipt; a failed entry
// leaves the others' deletions in the commit. err is for the whole batch
// (ErrNoSuchQueue, storage failures), and then nothing is deleted.
func (s *Service) DeleteBatch(ctx context.Context, name string, handles []string) (errs []error, err error) {
	err = s.batchOp(ctx, name, len(handles), func(tx storage.Tx, r *record, i int) error {
		receipt, err := receiptOf(r, name, handles[i])
		if err != nil {
			return err
		}
		return tx.Ack(r.storageName(), receipt)
	}, nil, &errs)
	return errs, err
}

// VisibilityChange is one entry of ChangeVisibilityBatch.
type VisibilityChange struct {
	Handle  string
	Timeout time.Duration
}

// ChangeVisibilityBatch applies the visibility changes of entries in one
// commit (ChangeMessageVisibilityBatch). errs[i] is the outcome of
// entries[i] as ChangeVisibility's (nil, ErrInvalidReceipt,
// ErrNotInflight, *ParameterError); err is for the whole batch, and then
// nothing changed.
func (s *Service) ChangeVisibilityBatch(ctx context.Context, name string, entries []VisibilityChange) (errs []error, err error) {
	err = s.batchOp(ctx, name, len(entries), func(tx storage.Tx, r *record, i int) error {
		e := entries[i]
		if e.Timeout < 0 || e.Timeout > maxVisibility*time.Second {
			return paramErr("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", int(e.Timeout.Seconds()))
		}
		receipt, err := receiptOf(r, name, e.Handle)
		if err != nil {
			return err
		}
		return tx.Extend(r.storageName(), receipt, s.clock.Now().Add(e.Timeout))
	}, ErrNotInflight, &errs)
	return errs, err
}

// batchOp runs op for entries 0..n-1 in one transaction. An entry whose
// op fails with a receipt or parameter error is recorded in *errs and
// skipped (the engine's Ack and Extend change nothing in tx when they
// fail that way); any other error aborts the whole transaction. staleErr
// is what a stale receipt becomes (nil: success with no effect).
func (s *Service) batchOp(ctx context.Context, name string, n int, op func(tx storage.Tx, r *record, i int) error, staleErr error, errs *[]error) error {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		// The function may run again after a conflict: start afresh.
		*errs = make([]error, n)
		r, err := s.cachedRecord(tx, name)
		if err != nil {
			return err
		}
		for i := range n {
			err := op(tx, r, i)
			var pe *ParameterError
			switch {
			case err == nil:
			case errors.Is(err, storage.ErrStaleReceipt), errors.Is(err, storage.ErrInvalidReceipt),
				errors.Is(err, ErrInvalidReceipt), errors.As(err, &pe):
				(*errs)[i] = mapReceiptErr(err, staleErr)
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		*errs = nil
	}
	return err
}

// receiptOf returns the engine receipt of a handle for queue record r,
// ErrInvalidReceipt, or storage.ErrStaleReceipt for a handle from an
// earlier incarnation.
func receiptOf(r *record, name, handle string) (string, error) {
	inc, receipt, err := decodeHandle(name, handle)
	if err != nil {
		return "", err
	}
	if r.Incarnation != inc {
		return "", storage.ErrStaleReceipt
	}
	return receipt, nil
}

// ChangeVisibility makes the message visible again timeout from now (0:
// at once). Errors: ErrNoSuchQueue, ErrInvalidReceipt, ErrNotInflight (the
// lease is over), *ParameterError (timeout outside 0..43200 s).
func (s *Service) ChangeVisibility(ctx context.Context, name, handle string, timeout time.Duration) error {
	if timeout < 0 || timeout > maxVisibility*time.Second {
		return paramErr("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", int(timeout.Seconds()))
	}
	err := s.handleOp(ctx, name, handle, func(tx storage.Tx, sq, receipt string) error {
		return tx.Extend(sq, receipt, s.clock.Now().Add(timeout))
	})
	return mapReceiptErr(err, ErrNotInflight)
}

// Release makes the messages of handles visible at once: the edge calls
// it for messages whose response could not be written, so that they are
// not hidden for a whole visibility timeout from everyone. Stale handles
// are skipped.
func (s *Service) Release(ctx context.Context, name string, handles []string) error {
	var errs []error
	err := s.batchOp(ctx, name, len(handles), func(tx storage.Tx, r *record, i int) error {
		receipt, err := receiptOf(r, name, handles[i])
		if err != nil {
			return err
		}
		return tx.Extend(r.storageName(), receipt, s.clock.Now())
	}, nil, &errs)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	for i, e := range errs {
		if e != nil {
			errs[i] = fmt.Errorf("release: %w", e)
		}
	}
	return errors.Join(errs...)
}

// mapReceiptErr turns the engine's receipt errors into the queue's:
// stale becomes staleErr (nil: silently nothing).
func mapReceiptErr(err, staleErr error) error {
	switch {
	case errors.Is(err, storage.ErrStaleReceipt):
		return staleErr
	case errors.Is(err, storage.ErrInvalidReceipt):
		return ErrInvalidReceipt
	}
	return err
}
