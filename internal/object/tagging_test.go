package object

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"sluice/internal/event"
)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestValidateTags(t *testing.T) {
	eleven := make([]Tag, 11)
	for i := range eleven {
		eleven[i] = Tag{Key: fmt.Sprint("k", i)}
	}
	ten := eleven[:10]
	for _, tc := range []struct {
		name    string
		tags    []Tag
		problem TagProblem // 0: valid
		tooMany bool
	}{
		{"none", nil, 0, false},
		{"ten of maximum size", []Tag{{strings.Repeat("k", 128), strings.Repeat("v", 256)}}, 0, false},
		{"ten tags", ten, 0, false},
		{"eleven tags", eleven, 0, true},
		{"allowed symbols and letters", []Tag{{"a_b.c:d/e=f+g-h@i j", "é ü 中文 ١٢"}}, 0, false},
		{"empty value", []Tag{{"k", ""}}, 0, false},
		{"empty key", []Tag{{"", "v"}}, TagKeyInvalid, false},
		{"key of 129", []Tag{{strings.Repeat("k", 129), ""}}, TagKeyInvalid, false},
		{"value of 257", []Tag{{"k", strings.Repeat("v", 257)}}, TagValueInvalid, false},
		{"key with a comma", []Tag{{"a,b", "v"}}, TagKeyInvalid, false},
		{"value with a star", []Tag{{"k", "a*b"}}, TagValueInvalid, false},
		{"emoji key", []Tag{{"😀", "v"}}, TagKeyInvalid, false},
		{"tab in value", []Tag{{"k", "a\tb"}}, TagValueInvalid, false},
		{"invalid UTF-8", []Tag{{"k\xff", "v"}}, TagKeyInvalid, false},
		{"aws: prefix", []Tag{{"AWS:cost", "v"}}, TagKeySystem, false},
		{"duplicate", []Tag{{"a", "1"}, {"a", "2"}}, TagKeyDuplicate, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateTags(tc.tags)
			var te *InvalidTagError
			switch {
			case tc.tooMany:
				if !errors.Is(err, ErrTooManyTags) {
					t.Errorf("err %v, want ErrTooManyTags", err)
				}
			case tc.problem != 0:
				if !errors.As(err, &te) || te.Problem != tc.problem {
					t.Errorf("err %v, want problem %d", err, tc.problem)
				}
			case err != nil:
				t.Errorf("err %v, want valid", err)
			case len(got) != len(tc.tags):
				t.Errorf("got %d tags, want %d", len(got), len(tc.tags))
			}
		})
	}
	got, err := ValidateTags([]Tag{{"bkt", "2"}, {"a", "1"}})
	if err != nil || got[0].Key != "a" || got[1].Key != "bkt" {
		t.Errorf("ValidateTags = %v, %v; want sorted by key", got, err)
	}
}

func TestObjectTagging(t *testing.T) {
	e := newEnv(t, 16)
	svc := e.withEvents(16)
	ctx := context.Background()
	e.mustCreateBucket(t, "bkt")
	for _, size := range []int{5, 100} { // inline and blob
		key := fmt.Sprint("k", size)
		body := strings.Repeat("x", size)
		put, err := svc.PutObject(ctx, PutInput{Bucket: "bkt", Key: key, Body: strings.NewReader(body), Size: int64(size), Tags: []Tag{{"a", "1"}}})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := svc.PutObjectTagging(ctx, "bkt", key, []Tag{{"x", "y"}, {"z", ""}})
		if err != nil {
			t.Fatal(err)
		}
		got, data := readObj(t, svc, "bkt", key)
		if len(got.Tags) != 2 || got.Tags[0] != (Tag{"x", "y"}) || string(data) != body {
			t.Errorf("after PutObjectTagging: tags %v, %d bytes", got.Tags, len(data))
		}
		if got.ETag != put.ETag || !got.LastModified.Equal(put.LastModified) || obj.ETag != put.ETag {
			t.Errorf("tagging changed ETag or Last-Modified: %+v vs %+v", got, put)
		}
		if _, err := svc.DeleteObjectTagging(ctx, "bkt", key); err != nil {
			t.Fatal(err)
		}
		got, _ = readObj(t, svc, "bkt", key)
		if len(got.Tags) != 0 {
			t.Errorf("after DeleteObjectTagging: tags %v", got.Tags)
		}
	}
	if len(e.referencedBlobs(t)) != 1 {
		t.Errorf("referenced blobs %v, want the one of k100", e.referencedBlobs(t))
	}
	ev := e.committedEvents(t)
	want := []event.Name{event.ObjectCreatedPut, event.ObjectTaggingPut, event.ObjectTaggingDelete}
	if len(ev) != 6 {
		t.Fatalf("events %q, want 6", ev)
	}
	for i, w := range want {
		if !strings.HasPrefix(ev[i], string(w)+" bkt/k5 ") {
			t.Errorf("event %d %q, want %s", i, ev[i], w)
		}
	}
	if _, err := svc.PutObjectTagging(ctx, "bkt", "missing", nil); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("PutObjectTagging of a missing key: %v", err)
	}
	if _, err := svc.DeleteObjectTagging(ctx, "nob", "k5"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("DeleteObjectTagging in a missing bucket: %v", err)
	}
	if n := len(e.committedEvents(t)); n != 6 {
		t.Errorf("failed tagging calls reported events (%d)", n)
	}
}
