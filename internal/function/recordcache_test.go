package function

import (
	"encoding/json"
	"testing"
)

// TestRecordCacheFollowsBytes: the cache hands back the decoded record
// while the stored bytes stay the same, and a fresh decode as soon as
// they change (an update), so it never needs invalidating.
func TestRecordCacheFollowsBytes(t *testing.T) {
	var c recordCache
	key := functionKey("f")
	enc := func(r record) []byte {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v1 := enc(record{Name: "f", Timeout: 3, Env: map[string]string{"A": "1"}})
	a, err := c.decode(key, v1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.decode(key, append([]byte(nil), v1...))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("same bytes decoded twice")
	}
	v2 := enc(record{Name: "f", Timeout: 9, Env: map[string]string{"A": "2"}})
	d, err := c.decode(key, v2)
	if err != nil {
		t.Fatal(err)
	}
	if d == a || d.Timeout != 9 || d.Env["A"] != "2" || a.Timeout != 3 {
		t.Fatalf("after a change: %+v (old %+v)", d, a)
	}
	if _, err := c.decode(functionKey("g"), []byte("{bad")); err == nil {
		t.Fatal("bad record decoded")
	}
	// The cached bytes are a copy: the caller's buffer may be reused.
	buf := append([]byte(nil), v2...)
	e, _ := c.decode(functionKey("h"), buf)
	for i := range buf {
		buf[i] = ' '
	}
	if f, _ := c.decode(functionKey("h"), v2); f != e {
		t.Fatal("cache keyed on the caller's buffer")
	}
}
