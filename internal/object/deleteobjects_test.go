package object

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t, 16)
	svc := e.withEvents(16)
	ctx := context.Background()
	e.mustCreateBucket(t, "bkt")
	e.mustPut(t, "bkt", "small", []byte("x"))
	e.mustPut(t, "bkt", "big", []byte(strings.Repeat("y", 100)))
	e.mustPut(t, "bkt", "keep", []byte("z"))
	long := strings.Repeat("k", MaxKeyLength+1)
	res, err := svc.DeleteObjects(ctx, "bkt", []string{"small", "big", "missing", long, "big"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d results, want 5", len(res))
	}
	for i, want := range []error{nil, nil, nil, ErrKeyTooLong, nil} {
		if !errors.Is(res[i].Err, want) || (want == nil && res[i].Err != nil) {
			t.Errorf("result %d (%.10q): %v, want %v", i, res[i].Key, res[i].Err, want)
		}
	}
	for _, k := range []string{"small", "big"} {
		if e.exists(t, "bkt", k) {
			t.Errorf("%s still exists", k)
		}
	}
	if !e.exists(t, "bkt", "keep") {
		t.Errorf("keep was deleted")
	}
	if ids := e.referencedBlobs(t); len(ids) != 0 {
		t.Errorf("referenced blobs %v after deleting the only blob object", ids)
	}
	ev := e.committedEvents(t)
	want := []string{"s3:ObjectRemoved:Delete bkt/small ", "s3:ObjectRemoved:Delete bkt/big ", "s3:ObjectRemoved:Delete bkt/missing "}
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", ev, want)
	}
	if _, err := svc.DeleteObjects(ctx, "nob", []string{"a"}); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
	if _, err := svc.DeleteObjects(ctx, "bkt", make([]string, MaxDeleteObjects+1)); err == nil {
		t.Errorf("%d keys accepted", MaxDeleteObjects+1)
	}
}
