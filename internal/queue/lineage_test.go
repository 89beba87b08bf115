package queue

import (
	"reflect"
	"testing"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// TestLineageStoredWithMessage: a message sent with a lineage is received
// with it, as Message.Lineage only (not an attribute, not in the
// attributes' digest); one sent without has none; SendBatch and a
// redrive to the dead-letter queue keep it.
func TestLineageStoredWithMessage(t *testing.T) {
	e := newEnv(t)
	e.create("dlq", nil)
	e.create("q", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"1"}`})
	lin := event.Lineage{RequestID: "req-1", TraceID: "Root=1-abc", Chain: []string{"inv-1", "inv-2"}}
	res, err := e.svc.Send(e.ctx, "q", SendInput{Body: "with", Lineage: lin})
	if err != nil {
		t.Fatal(err)
	}
	if res.MD5OfAttributes != "" {
		t.Errorf("MD5OfAttributes = %q for a message without attributes, want empty", res.MD5OfAttributes)
	}
	e.send("q", "without")
	if _, errs, err := e.svc.SendBatch(e.ctx, "q", []SendInput{{Body: "batch", Lineage: lin}}); err != nil || errs[0] != nil {
		t.Fatalf("SendBatch: %v %v", err, errs)
	}
	got := map[string]Message{}
	for _, m := range e.receiveNow("q", 10, dur(0)) {
		got[m.Body] = m
	}
	for _, body := range []string{"with", "batch"} {
		m := got[body]
		if !reflect.DeepEqual(m.Lineage, lin) {
			t.Errorf("%s: Lineage = %+v, want %+v", body, m.Lineage, lin)
		}
		if len(m.Attributes) != 0 {
			t.Errorf("%s: Attributes = %v, want none (the lineage is not a message attribute)", body, m.Attributes)
		}
	}
	if m := got["without"]; m.Lineage.Chain != nil || m.Lineage.RequestID != "" {
		t.Errorf("without: Lineage = %+v, want none", m.Lineage)
	}
	// Past maxReceiveCount 1 the messages move to the dead-letter queue
	// with their lineage.
	if again := e.receiveNow("q", 10, nil); len(again) != 0 {
		t.Fatalf("receive past maxReceiveCount returned %d messages", len(again))
	}
	for _, m := range e.receiveNow("dlq", 10, nil) {
		if m.Body == "with" && !reflect.DeepEqual(m.Lineage, lin) {
			t.Errorf("dead-letter queue: Lineage = %+v, want %+v", m.Lineage, lin)
		}
	}
}

// TestLineageOldAndUnreadableRecords: a message stored before lineage
// existed (the attributes Send wrote then) and one whose lineage is of an
// unknown version are received whole, without a lineage.
func TestLineageOldAndUnreadableRecords(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	old := map[string]string{metaID: "11111111-1111-1111-1111-111111111111", metaSource: e.svc.ARN("q"), metaSender: "AIDA"}
	future := map[string]string{metaID: "22222222-2222-2222-2222-222222222222", metaLineage: `{"v":2,"chain":"x"}`}
	err := e.store.Update(e.ctx, func(tx storage.Tx) error {
		r, err := e.svc.cachedRecord(tx, "q")
		if err != nil {
			return err
		}
		if _, err := tx.Enqueue(r.storageName(), storage.Message{Body: []byte("old"), Attributes: old}); err != nil {
			return err
		}
		_, err = tx.Enqueue(r.storageName(), storage.Message{Body: []byte("future"), Attributes: future})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.receiveNow("q", 10, dur(0))
	if len(msgs) != 2 {
		t.Fatalf("received %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if m.Lineage.Chain != nil || m.Lineage.RequestID != "" || m.Lineage.TraceID != "" {
			t.Errorf("%s: Lineage = %+v, want none", m.Body, m.Lineage)
		}
		if m.Body == "old" && (m.ID != old[metaID] || m.SenderID != "AIDA") {
			t.Errorf("old record read as %+v", m)
		}
	}
}

func TestLineageEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   event.Lineage
		want string
	}{
		{"none", event.Lineage{}, ""},
		{"no chain", event.Lineage{RequestID: "r"}, ""},
		{"chain", event.Lineage{RequestID: "r", TraceID: "t", Chain: []string{"a", "b"}}, `{"v":1,"r":"r","t":"t","c":["a","b"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := encodeLineage(tc.in)
			if got != tc.want {
				t.Fatalf("encodeLineage(%+v) = %s, want %s", tc.in, got, tc.want)
			}
			if got == "" {
				return
			}
			back, ok := decodeLineage(got)
			if !ok || !reflect.DeepEqual(back, tc.in) {
				t.Fatalf("decodeLineage(%s) = %+v, %v, want %+v", got, back, ok, tc.in)
			}
		})
	}
	for _, raw := range []string{"", "{", `{"v":0}`, `{"v":2,"c":["a"]}`, `[]`} {
		if l, ok := decodeLineage(raw); ok {
			t.Errorf("decodeLineage(%q) = %+v, true; want not ok", raw, l)
		}
	}
}
