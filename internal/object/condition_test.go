package object

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConditionalPut(t *testing.T) {
	e := newEnv(t, 16)
	svc := e.withEvents(16)
	ctx := context.Background()
	e.mustCreateBucket(t, "bkt")
	put := func(key, body string, c WriteCondition) (Object, error) {
		return svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: key, Body: strings.NewReader(body), Size: int64(len(body)), Condition: c})
	}
	first, err := put("k", "one", WriteCondition{IfNoneMatch: "*"})
	if err != nil {
		t.Fatalf("If-None-Match * on a new key: %v", err)
	}
	var pf *PreconditionFailedError
	for _, body := range []string{"two", strings.Repeat("2", 100)} { // inline and blob
		if _, err := put("k", body, WriteCondition{IfNoneMatch: "*"}); !errors.As(err, &pf) || pf.Condition != "If-None-Match" {
			t.Errorf("If-None-Match * on an existing key: %v", err)
		}
		if _, err := put("k", body, WriteCondition{IfMatch: `"00000000000000000000000000000000"`}); !errors.As(err, &pf) || pf.Condition != "If-Match" {
			t.Errorf("If-Match with another ETag: %v", err)
		}
	}
	if _, err := put("new", "x", WriteCondition{IfMatch: first.ETag}); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("If-Match on a missing key: %v, want ErrNoSuchKey", err)
	}
	got, data := readObj(t, svc, "bkt", "k")
	if string(data) != "one" || got.ETag != first.ETag {
		t.Errorf("failed conditional writes changed the object: %q", data)
	}
	if len(e.blobIDs(t)) != 0 {
		t.Errorf("failed conditional writes left blobs %v", e.blobIDs(t))
	}
	if _, err := put("k", "three", WriteCondition{IfMatch: `"` + first.ETag + `"`}); err != nil {
		t.Errorf("If-Match with the current ETag: %v", err)
	}
	if ev := e.committedEvents(t); len(ev) != 2 {
		t.Errorf("events %q, want the two successful writes only", ev)
	}
}

// Racing If-None-Match: * creates of one key: exactly one wins, every
// other gets the 412, and the object is the winner's.
func TestConditionalPutRace(t *testing.T) {
	for _, size := range []int{4, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := newEnv(t, 16)
			svc := e.withEvents(16)
			e.mustCreateBucket(t, "bkt")
			const n = 16
			var wins, fails atomic.Int32
			winner := make(chan string, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := fmt.Sprintf("%0*d", size, i)
					_, err := svc.PutObject(context.Background(), PutInput{Bucket: "bkt", Key: "k", Body: strings.NewReader(body),
						Size: int64(len(body)), Condition: WriteCondition{IfNoneMatch: "*"}})
					var pf *PreconditionFailedError
					switch {
					case err == nil:
						wins.Add(1)
						winner <- body
					case errors.As(err, &pf):
						fails.Add(1)
					default:
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || fails.Load() != n-1 {
				t.Fatalf("%d wins, %d precondition failures; want 1 and %d", wins.Load(), fails.Load(), n-1)
			}
			_, data := readObj(t, svc, "bkt", "k")
			if w := <-winner; string(data) != w {
				t.Errorf("object %q, winner wrote %q", data, w)
			}
			if ev := e.committedEvents(t); len(ev) != 1 {
				t.Errorf("events %q, want one", ev)
			}
			if size > 16 && len(e.referencedBlobs(t)) != 1 {
				t.Errorf("referenced blobs %v, want 1", e.referencedBlobs(t))
			}
		})
	}
}
