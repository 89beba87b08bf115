package queue

import (
	"encoding/json"

	"sluice/internal/event"
)

// A message sent with a function instance's credentials carries the
// lineage of the invocation that sent it (DESIGN, Functions: recursive
// loops), so that an event source mapping can stop a function that keeps
// sending to the queue that triggers it after 16 invocations, as Lambda
// does. The lineage is stored under metaLineage in
// storage.Message.Attributes, the store's uninterpreted metadata, beside
// the other sqs.* keys: no client ever sees it (toMessage copies it only
// to Message.Lineage, which the SQS edge never writes out) and it is not
// a message attribute, so MD5OfMessageAttributes does not cover it.
// Messages stored before it existed have no such key and read as having
// no lineage, which is what they had.
const metaLineage = "sqs.lin"

// lineageVersion is the first member of every stored lineage, so that the
// format can change without misreading older records.
const lineageVersion = 1

type storedLineage struct {
	V int      `json:"v"`
	R string   `json:"r,omitempty"` // RequestID
	T string   `json:"t,omitempty"` // TraceID
	C []string `json:"c"`           // Chain
}

// encodeLineage is the stored form of l, "" for a lineage no function
// made (nothing is stored for it).
func encodeLineage(l event.Lineage) string {
	if len(l.Chain) == 0 {
		return ""
	}
	b, _ := json.Marshal(storedLineage{V: lineageVersion, R: l.RequestID, T: l.TraceID, C: l.Chain})
	return string(b)
}

// decodeLineage reads what encodeLineage wrote; ok is false for a value
// it cannot read (another version, corrupt), which the caller treats as
// no lineage.
func decodeLineage(raw string) (event.Lineage, bool) {
	var s storedLineage
	if err := json.Unmarshal([]byte(raw), &s); err != nil || s.V != lineageVersion {
		return event.Lineage{}, false
	}
	return event.Lineage{RequestID: s.R, TraceID: s.T, Chain: s.C}, true
}
