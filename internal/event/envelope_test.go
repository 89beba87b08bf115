package event

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	payload := []byte(`{"Records":[{"s3":{"configurationId":"a<b>"}}]}`)
	cases := []Envelope{
		{
			Payload: payload, Kind: Queue, Destination: "arn:aws:sqs:us-east-1:000000000000:q1",
			ConfigurationID: "cfg", Event: ObjectCreatedPut, Bucket: "b1", Key: "k é",
			Time:    time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC),
			Lineage: Lineage{RequestID: "REQ1", TraceID: "Root=1-abc", Chain: []string{"inv1", "inv2"}},
		},
		{Payload: []byte(`{"Service":"Amazon S3"}`), Kind: Topic, Destination: "arn:aws:sns:us-east-1:000000000000:t", Event: TestEvent, Bucket: "b1"},
		{Kind: Function},
	}
	for i, e := range cases {
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Envelope
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("case %d: UnmarshalBinary: %v", i, err)
		}
		if !bytes.Equal(got.Payload, e.Payload) {
			t.Fatalf("case %d: payload changed: %q -> %q", i, e.Payload, got.Payload)
		}
		got.Payload, e.Payload = nil, nil
		if !got.Time.Equal(e.Time) || got.Time.IsZero() != e.Time.IsZero() {
			t.Fatalf("case %d: time %v -> %v", i, e.Time, got.Time)
		}
		got.Time, e.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("case %d:\n got %+v\nwant %+v", i, got, e)
		}
	}
}

func TestEnvelopeCorruptInputFailsCleanly(t *testing.T) {
	e := Envelope{Payload: []byte("payload"), Kind: Queue, Destination: "d", Event: ObjectCreatedPut,
		Bucket: "b", Key: "k", Time: time.Unix(1, 0), Lineage: Lineage{RequestID: "r", Chain: []string{"x"}}}
	b, _ := e.MarshalBinary()
	// Every truncation fails with ErrCorruptEnvelope, none panics.
	for n := 0; n < len(b); n++ {
		var got Envelope
		if err := got.UnmarshalBinary(b[:n]); !errors.Is(err, ErrCorruptEnvelope) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	var got Envelope
	if err := got.UnmarshalBinary(append(append([]byte(nil), b...), 0)); !errors.Is(err, ErrCorruptEnvelope) {
		t.Fatalf("trailing byte: err = %v", err)
	}
	bad := append([]byte(nil), b...)
	bad[0] = 99
	if err := got.UnmarshalBinary(bad); !errors.Is(err, ErrCorruptEnvelope) {
		t.Fatalf("unknown version: err = %v", err)
	}
	// A length that claims more than the data holds.
	if err := got.UnmarshalBinary([]byte{envelopeVersion, 1, 0xff, 0xff, 0xff, 0x7f}); !errors.Is(err, ErrCorruptEnvelope) {
		t.Fatalf("huge length: err = %v", err)
	}
}

func FuzzEnvelopeUnmarshal(f *testing.F) {
	e := Envelope{Payload: []byte("p"), Kind: Queue, Lineage: Lineage{Chain: []string{"a"}}}
	b, _ := e.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var got Envelope
		if err := got.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := got.MarshalBinary()
		var back Envelope
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
	})
}
