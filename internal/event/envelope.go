package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// DestinationKind says what kind of resource a destination ARN names.
type DestinationKind uint8

// The destination kinds a notification configuration can name.
const (
	Queue    DestinationKind = 1 // an SQS queue (QueueConfiguration)
	Topic    DestinationKind = 2 // an SNS topic (TopicConfiguration)
	Function DestinationKind = 3 // a Lambda function (CloudFunctionConfiguration)
)

func (k DestinationKind) String() string {
	switch k {
	case Queue:
		return "queue"
	case Topic:
		return "topic"
	case Function:
		return "function"
	default:
		return fmt.Sprintf("DestinationKind(%d)", uint8(k))
	}
}

// Lineage is what caused a record, kept outside the AWS payload (DESIGN.md,
// Events): the request that made the change and, when that request came
// from a function invocation, the invocation chain it belongs to. Loop
// detection and "wait until request X is delivered" stand on it.
type Lineage struct {
	// RequestID is the x-amz-request-id of the request that caused the
	// record.
	RequestID string
	// TraceID is the trace id of the invocation chain (the one Sluice hands
	// each invocation as Lambda-Runtime-Trace-Id), or "" for a request that
	// no function made.
	TraceID string
	// Chain lists the invocation ids that led to the request, oldest first;
	// empty for a request no function made. Its length is the chain's
	// depth, which Lambda's loop detection stops at 16.
	Chain []string
}

// LineageSource finds the invocation chain a request belongs to from the
// access key that signed it: the lineage of the function invocation the
// key's instance is serving, with that invocation appended (Then). ok is
// false for a key that is no function instance's, or an idle one's. The
// server wires function.Service.CurrentInvocation into the S3, SQS and
// Lambda edges through it, so that what a function does continues its
// chain (the wait API, recursive loop detection).
type LineageSource interface {
	Lineage(accessKeyID string) (l Lineage, ok bool)
}

// Then is the lineage of a request made by the invocation invocationID
// (with trace id traceID) that l caused: same root request, the chain one
// longer. A lineage without a root request (an invocation no S3 request
// caused, such as a direct Invoke) starts its chain at the invocation.
func (l Lineage) Then(invocationID, traceID string) Lineage {
	out := Lineage{RequestID: l.RequestID, TraceID: l.TraceID, Chain: append(append([]string(nil), l.Chain...), invocationID)}
	if out.RequestID == "" {
		out.RequestID = invocationID
	}
	if out.TraceID == "" {
		out.TraceID = traceID
	}
	return out
}

// Envelope is what gets enqueued for one matching destination: the AWS
// payload exactly as the destination will receive it, plus what Sluice needs
// to deliver it and to account for it. Only Payload ever leaves Sluice.
type Envelope struct {
	Payload         []byte // the AWS JSON, byte for byte (Encode or TestMessage.Encode)
	Kind            DestinationKind
	Destination     string // the destination ARN as configured
	ConfigurationID string // the Id of the rule that matched ("" for a test event)
	Event           Name   // the record's type, or TestEvent
	Bucket          string
	Key             string // the object key (not encoded); "" for a test event
	Time            time.Time
	Lineage         Lineage
}

// envelopeVersion is the first byte of every encoded Envelope, so the
// format can change without misreading old records after an upgrade.
const envelopeVersion = 1

// Limits on decoded envelopes: a corrupt record must fail, not allocate
// gigabytes.
const (
	maxEnvelopeField = 1 << 20 // one string or the payload
	maxChain         = 64
)

// zeroTime stands for the zero time.Time, whose UnixNano is undefined.
const zeroTime = math.MinInt64

// ErrCorruptEnvelope is matched by every error UnmarshalBinary returns.
var ErrCorruptEnvelope = errors.New("corrupt event envelope")

// MarshalBinary encodes e for storage: a version byte, then each field as a
// uvarint length and its bytes (times as Unix nanoseconds). The payload is
// kept as raw bytes, never re-encoded, so it stays byte-for-byte what AWS
// sends.
func (e *Envelope) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(e.Payload)+128)
	b = append(b, envelopeVersion, byte(e.Kind))
	put := func(s []byte) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	put(e.Payload)
	put([]byte(e.Destination))
	put([]byte(e.ConfigurationID))
	put([]byte(e.Event))
	put([]byte(e.Bucket))
	put([]byte(e.Key))
	ns := int64(zeroTime)
	if !e.Time.IsZero() {
		ns = e.Time.UnixNano()
	}
	b = binary.AppendVarint(b, ns)
	put([]byte(e.Lineage.RequestID))
	put([]byte(e.Lineage.TraceID))
	b = binary.AppendUvarint(b, uint64(len(e.Lineage.Chain)))
	for _, c := range e.Lineage.Chain {
		put([]byte(c))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote. Errors match
// ErrCorruptEnvelope.
func (e *Envelope) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if v := d.byte(); v != envelopeVersion && d.err == nil {
		return fmt.Errorf("%w: version %d", ErrCorruptEnvelope, v)
	}
	var out Envelope
	out.Kind = DestinationKind(d.byte())
	out.Payload = d.bytes()
	out.Destination = string(d.bytes())
	out.ConfigurationID = string(d.bytes())
	out.Event = Name(d.bytes())
	out.Bucket = string(d.bytes())
	out.Key = string(d.bytes())
	ns := d.varint()
	out.Lineage.RequestID = string(d.bytes())
	out.Lineage.TraceID = string(d.bytes())
	n := d.uvarint()
	if d.err == nil && n > maxChain {
		d.err = fmt.Errorf("chain of %d invocations", n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		out.Lineage.Chain = append(out.Lineage.Chain, string(d.bytes()))
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptEnvelope, d.err)
	}
	if ns != zeroTime {
		out.Time = time.Unix(0, ns).UTC()
	}
	*e = out
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errors.New("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad time")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > maxEnvelopeField || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("field of %d bytes", n)
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}
