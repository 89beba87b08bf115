package pebblestore

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage"
)

func recordCases() []msgRecord {
	at := time.Date(2026, 11, 22, 15, 4, 5, 123456789, time.UTC)
	return []msgRecord{
		{Message: storage.Message{ID: "0000000000000001", Body: []byte("hello"), EnqueuedAt: at}},
		{Message: storage.Message{ID: "00000000000000ff", Body: []byte("{\"x\":\"\u00e9\\n\"}\x00\xff"),
			Attributes: map[string]string{"sqs.id": "a-b", "": "empty key", "k": ""},
			EnqueuedAt: at, VisibleAt: at.Add(time.Hour)}},
		{Message: storage.Message{ID: "2", Body: make([]byte, 300), EnqueuedAt: at, VisibleAt: at.Add(30 * time.Second)},
			ReceiveCount: 7, Gen: 1 << 40, FirstLeased: at.Add(time.Second)},
		{Message: storage.Message{ID: "3", Body: []byte("before 1970"), EnqueuedAt: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)}},
	}
}

// The binary form gives back exactly what was encoded, and a JSON record
// (the form written before) decodes to the same record.
func TestMsgRecordRoundTrip(t *testing.T) {
	for i, want := range recordCases() {
		var got msgRecord
		if err := decodeMsg(encodeMsg(&want), &got); err != nil {
			t.Fatalf("case %d: decode(encode) = %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d: binary round trip\n got %#v\nwant %#v", i, got, want)
		}
		old, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON msgRecord
		if err := decodeMsg(old, &fromJSON); err != nil {
			t.Fatalf("case %d: decode(JSON) = %v", i, err)
		}
		if !reflect.DeepEqual(fromJSON, want) {
			t.Errorf("case %d: JSON record\n got %#v\nwant %#v", i, fromJSON, want)
		}
	}
}

// A damaged record is an error, never a panic or a record with garbage.
func TestMsgRecordMalformed(t *testing.T) {
	for _, rec := range recordCases() {
		b := encodeMsg(&rec)
		for n := range len(b) {
			var got msgRecord
			if err := decodeMsg(b[:n], &got); err == nil {
				t.Fatalf("decode of %d of %d bytes succeeded: %#v", n, len(b), got)
			}
		}
		var got msgRecord
		if err := decodeMsg(append(b, 0), &got); err == nil {
			t.Fatalf("decode with a trailing byte succeeded")
		}
	}
	var got msgRecord
	if err := decodeMsg([]byte{0x02, 0, 0}, &got); err == nil {
		t.Fatal("unknown format byte decoded")
	}
	// A huge attribute count must not allocate a huge map.
	if err := decodeMsg([]byte{msgFormatV1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, &got); err == nil {
		t.Fatal("attribute count past the record decoded")
	}
}

// A store holding JSON message records (written before the binary form)
// opens, indexes, leases (rewriting the record in the new form), lists
// and acknowledges them.
func TestJSONMessageRecordsStillServed(t *testing.T) {
	fs := vfs.NewMem()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := Open(Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	old := msgRecord{Message: storage.Message{ID: messageID(1), Body: []byte("old body"),
		Attributes: map[string]string{"a": "b"}, EnqueuedAt: clk.Now().UTC()}}
	raw, _ := json.Marshal(&old)
	if err := s.db.Set(messageKey("q", 1), raw, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: "db", FS: fs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var listed []storage.Message
	err = s.View(ctx, func(tx storage.ReadTx) error {
		return tx.Messages("q", func(m storage.Message) bool { listed = append(listed, m); return true })
	})
	if err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0], old.Message) {
		t.Fatalf("Messages = %+v, %v; want the JSON record's message", listed, err)
	}
	got, err := s.Lease(ctx, "q", storage.LeaseOptions{Max: 10, Visibility: time.Minute})
	if err != nil || len(got) != 1 || string(got[0].Body) != "old body" || got[0].ID != old.ID || got[0].Attributes["a"] != "b" || got[0].ReceiveCount != 1 {
		t.Fatalf("Lease = %+v, %v; want the old message, first receive", got, err)
	}
	v, closer, err := s.db.Get(messageKey("q", 1))
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != msgFormatV1 {
		t.Errorf("leased record starts with %q, want the binary form", v[0])
	}
	closer.Close()
	if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Ack("q", got[0].Receipt) }); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if st := s.Stats("q"); st.Visible+st.InFlight+st.Delayed != 0 {
		t.Fatalf("Stats after Ack = %+v, want empty", st)
	}
}
