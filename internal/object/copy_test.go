package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// txEvents is a Publisher that writes each change into the transaction
// (a queue message), so that what it records is exactly what committed:
// a retried transaction's first attempt leaves nothing behind.
type txEvents struct{}

const txEventsQueue = "test-events"

func (txEvents) Publish(_ context.Context, tx storage.Tx, c event.Change) error {
	_, err := tx.Enqueue(txEventsQueue, storage.Message{Body: []byte(string(c.Name) + " " + c.Bucket + "/" + c.Key + " " + c.ETag)})
	return err
}

// withEvents returns e's service rebuilt with the txEvents publisher.
func (e *env) withEvents(inlineLimit int) *Service {
	return New(Config{Store: e.store, Blobs: e.blobs, Clock: e.clock, InlineLimit: inlineLimit, Events: txEvents{}})
}

// committedEvents lists what txEvents recorded, in commit order.
func (e *env) committedEvents(t testing.TB) []string {
	t.Helper()
	var out []string
	if err := e.store.View(context.Background(), func(tx storage.ReadTx) error {
		return tx.Messages(txEventsQueue, func(m storage.Message) bool {
			out = append(out, string(m.Body))
			return true
		})
	}); err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

func readObj(t testing.TB, s *Service, bucket, key string) (Object, []byte) {
	t.Helper()
	rd, err := s.GetObject(context.Background(), GetInput{Bucket: bucket, Key: key, Length: -1})
	if err != nil {
		t.Fatalf("GetObject(%q, %q): %v", bucket, key, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return rd.Object, b
}

func TestCopyObjectSharesBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"inline", 10}, {"blob", 300}, {"empty", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 64)
			svc := e.withEvents(64)
			e.mustCreateBucket(t, "src")
			e.mustCreateBucket(t, "dst")
			body := bytes.Repeat([]byte("x"), tc.size)
			_, err := svc.PutObject(context.Background(), PutInput{Bucket: "src", Key: "a", Body: bytes.NewReader(body), Size: int64(len(body)),
				Meta: Meta{ContentType: "text/plain", User: map[string]string{"k": "v"}}, Tags: []Tag{{"t", "1"}}})
			if err != nil {
				t.Fatal(err)
			}
			blobsBefore := len(e.blobIDs(t))
			e.clock.Advance(3 * time.Second)
			obj, err := svc.CopyObject(context.Background(), CopyInput{SourceBucket: "src", SourceKey: "a", Bucket: "dst", Key: "bkt"})
			if err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			src, _ := readObj(t, svc, "src", "a")
			got, data := readObj(t, svc, "dst", "bkt")
			if !bytes.Equal(data, body) {
				t.Errorf("copy holds %d bytes, want %d", len(data), len(body))
			}
			if got.ETag != src.ETag || obj.ETag != src.ETag || got.Meta.ContentType != "text/plain" || got.Meta.User["k"] != "v" {
				t.Errorf("copy %+v, source %+v", got, src)
			}
			if len(got.Tags) != 1 || got.Tags[0] != (Tag{"t", "1"}) {
				t.Errorf("copy tags %v, want the source's", got.Tags)
			}
			if !got.LastModified.Equal(src.LastModified.Add(3 * time.Second)) {
				t.Errorf("copy LastModified %v, want the copy's time", got.LastModified)
			}
			if n := len(e.blobIDs(t)); n != blobsBefore {
				t.Errorf("%d blobs after the copy, %d before: the copy wrote bytes", n, blobsBefore)
			}
			// The copy keeps the blob alive after the source goes.
			if err := svc.DeleteObject(context.Background(), "src", "a"); err != nil {
				t.Fatal(err)
			}
			if tc.size > 64 && len(e.referencedBlobs(t)) != 1 {
				t.Errorf("referenced blobs %v, want the copy's one", e.referencedBlobs(t))
			}
			if _, data := readObj(t, svc, "dst", "bkt"); !bytes.Equal(data, body) {
				t.Errorf("copy changed after the source was deleted")
			}
			ev := e.committedEvents(t)
			if len(ev) != 3 || !strings.HasPrefix(ev[1], string(event.ObjectCreatedCopy)+" dst/bkt "+src.ETag) {
				t.Errorf("events %q, want Put, Copy of dst/b, Delete", ev)
			}
		})
	}
}

func TestCopyObjectDirectivesAndErrors(t *testing.T) {
	e := newEnv(t, 64)
	svc := e.withEvents(64)
	ctx := context.Background()
	e.mustCreateBucket(t, "bkt")
	_, err := svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "a", Body: strings.NewReader("hello"), Size: 5,
		Meta: Meta{ContentType: "text/plain"}, Tags: []Tag{{"t", "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := readObj(t, svc, "bkt", "a")

	obj, err := svc.CopyObject(ctx, CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "c",
		ReplaceMeta: true, Meta: Meta{User: map[string]string{"n": "1"}}, ReplaceTags: true})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Meta.ContentType != DefaultContentType || obj.Meta.User["n"] != "1" || len(obj.Tags) != 0 {
		t.Errorf("REPLACE copy %+v: want new metadata, default type, no tags", obj)
	}

	for _, tc := range []struct {
		name string
		in   CopyInput
		want error
		cond string
	}{
		{"missing source", CopyInput{SourceBucket: "bkt", SourceKey: "nope", Bucket: "bkt", Key: "x"}, ErrNoSuchKey, ""},
		{"missing source bucket", CopyInput{SourceBucket: "nob", SourceKey: "a", Bucket: "bkt", Key: "x"}, ErrNoSuchBucket, ""},
		{"missing destination bucket", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "nob", Key: "x"}, ErrNoSuchBucket, ""},
		{"onto itself without REPLACE", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "a", ReplaceTags: true}, ErrCopyToItself, ""},
		{"if-match fails", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "x",
			SourceCondition: CopySourceCondition{IfMatch: `"0000"`}}, nil, "x-amz-copy-source-If-Match"},
		{"if-none-match fails", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "x",
			SourceCondition: CopySourceCondition{IfNoneMatch: src.ETag}}, nil, "x-amz-copy-source-If-None-Match"},
		{"if-unmodified-since fails", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "x",
			SourceCondition: CopySourceCondition{IfUnmodifiedSince: src.LastModified.Add(-time.Second)}}, nil, "x-amz-copy-source-If-Unmodified-Since"},
		{"if-modified-since at Last-Modified fails", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "x",
			SourceCondition: CopySourceCondition{IfModifiedSince: src.LastModified.Truncate(time.Second)}}, nil, "x-amz-copy-source-If-Modified-Since"},
		{"destination if-none-match *", CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "c",
			Condition: WriteCondition{IfNoneMatch: "*"}}, nil, "If-None-Match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.committedEvents(t))
			_, err := svc.CopyObject(ctx, tc.in)
			var pf *PreconditionFailedError
			switch {
			case tc.cond != "":
				if !errors.As(err, &pf) || pf.Condition != tc.cond {
					t.Errorf("err %v, want precondition %s", err, tc.cond)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if e.exists(t, "bkt", "x") {
				t.Errorf("a failed copy wrote bkt/x")
			}
			if n := len(e.committedEvents(t)); n != before {
				t.Errorf("a failed copy reported %d events", n-before)
			}
		})
	}

	// The pairings S3 documents: a true If-Match overrides a false
	// If-Unmodified-Since; a true If-None-Match overrides a false
	// If-Modified-Since.
	_, err = svc.CopyObject(ctx, CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "y",
		SourceCondition: CopySourceCondition{IfMatch: src.ETag, IfUnmodifiedSince: src.LastModified.Add(-time.Hour),
			IfNoneMatch: `"other"`, IfModifiedSince: src.LastModified.Add(time.Hour)}})
	if err != nil {
		t.Errorf("paired conditions: %v, want the copy", err)
	}

	// Onto itself with REPLACE: allowed, the blob reference survives.
	obj, err = svc.CopyObject(ctx, CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "a", ReplaceMeta: true,
		Meta: Meta{ContentType: "image/png"}})
	if err != nil || obj.Meta.ContentType != "image/png" {
		t.Fatalf("copy onto itself with REPLACE: %+v, %v", obj, err)
	}
	if len(obj.Tags) != 1 {
		t.Errorf("tags %v: the tagging directive defaults to COPY", obj.Tags)
	}
}

func (e *env) exists(t testing.TB, bucket, key string) bool {
	t.Helper()
	_, err := e.svc.HeadObject(context.Background(), bucket, key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("HeadObject: %v", err)
	}
	return err == nil
}

func TestCopyObjectOntoItselfKeepsBlob(t *testing.T) {
	e := newEnv(t, 16)
	e.mustCreateBucket(t, "bkt")
	body := bytes.Repeat([]byte("z"), 100)
	e.mustPut(t, "bkt", "a", body)
	if _, err := e.svc.CopyObject(context.Background(), CopyInput{SourceBucket: "bkt", SourceKey: "a", Bucket: "bkt", Key: "a", ReplaceMeta: true}); err != nil {
		t.Fatal(err)
	}
	if ids := e.referencedBlobs(t); len(ids) != 1 {
		t.Fatalf("referenced blobs %v after a copy onto itself, want 1", ids)
	}
	if _, data := readObj(t, e.svc, "bkt", "a"); !bytes.Equal(data, body) {
		t.Errorf("bytes changed")
	}
}

// A copy racing with overwrites of its source copies one whole version:
// bytes, ETag and metadata of the same PUT, never a mix.
func TestCopyObjectVersusOverwrite(t *testing.T) {
	e := newEnv(t, 32)
	ctx := context.Background()
	e.mustCreateBucket(t, "bkt")
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 40+i%2*20) }
	put := func(i int) {
		b := version(i)
		if _, err := e.svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: "src", Body: bytes.NewReader(b), Size: int64(len(b)),
			Meta: Meta{User: map[string]string{"v": fmt.Sprint(i)}}}); err != nil {
			t.Error(err)
		}
	}
	put(0)
	const n = 30
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			put(i)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			key := fmt.Sprint("copy", i)
			if _, err := e.svc.CopyObject(ctx, CopyInput{SourceBucket: "bkt", SourceKey: "src", Bucket: "bkt", Key: key}); err != nil {
				t.Error(err)
				return
			}
			obj, data := readObj(t, e.svc, "bkt", key)
			var v int
			fmt.Sscan(obj.Meta.User["v"], &v)
			if !bytes.Equal(data, version(v)) {
				t.Errorf("%s: metadata of version %d, bytes %q", key, v, data)
			}
			if sum := md5hex(data); sum != obj.ETag {
				t.Errorf("%s: ETag %s, bytes hash to %s", key, obj.ETag, sum)
			}
		}
	}()
	wg.Wait()
}
