package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestBucketLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	if err := e.svc.CreateBucket(ctx, "Bad_Name", "o"); !errors.Is(err, ErrInvalidBucketName) {
		t.Errorf("CreateBucket(Bad_Name) = %v, want ErrInvalidBucketName", err)
	}
	if _, err := e.svc.GetBucket(ctx, "bkt"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("GetBucket before create = %v, want ErrNoSuchBucket", err)
	}
	e.mustCreateBucket(t, "bkt")
	if err := e.svc.CreateBucket(ctx, "bkt", "owner"); !errors.Is(err, ErrBucketAlreadyOwnedByYou) {
		t.Errorf("second CreateBucket = %v, want ErrBucketAlreadyOwnedByYou", err)
	}
	b, err := e.svc.GetBucket(ctx, "bkt")
	want := Bucket{Name: "bkt", Created: testStart.Truncate(1e6), Owner: "owner"}
	if err != nil || !b.Created.Equal(want.Created) || b.Name != want.Name || b.Owner != want.Owner {
		t.Errorf("GetBucket = %+v, %v; want %+v", b, err, want)
	}

	e.mustPut(t, "bkt", "k", []byte("x"))
	if err := e.svc.DeleteBucket(ctx, "bkt"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket with an object = %v, want ErrBucketNotEmpty", err)
	}
	if err := e.svc.DeleteObject(ctx, "bkt", "k"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteBucket(ctx, "bkt"); err != nil {
		t.Errorf("DeleteBucket when empty = %v", err)
	}
	if err := e.svc.DeleteBucket(ctx, "bkt"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("DeleteBucket twice = %v, want ErrNoSuchBucket", err)
	}
	if _, err := e.svc.GetBucket(ctx, "bkt"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("GetBucket after delete = %v, want ErrNoSuchBucket", err)
	}
	// A bucket whose name extends another's is not "in" it.
	e.mustCreateBucket(t, "abc")
	e.mustCreateBucket(t, "abcd")
	e.mustPut(t, "abcd", "k", []byte("x"))
	if err := e.svc.DeleteBucket(ctx, "abc"); err != nil {
		t.Errorf("DeleteBucket(abc) with an object only in abcd = %v", err)
	}
}

func TestListBuckets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	names := []string{"b-2", "a-1", "c-3", "b-1", "bb-1", "b.0"}
	for _, n := range names {
		e.mustCreateBucket(t, n)
	}
	for _, tc := range []struct {
		in        ListBucketsInput
		want      []string
		truncated bool
		next      string
	}{
		{ListBucketsInput{}, []string{"a-1", "b-1", "b-2", "b.0", "bb-1", "c-3"}, false, ""},
		{ListBucketsInput{Prefix: "b-"}, []string{"b-1", "b-2"}, false, ""},
		{ListBucketsInput{Prefix: "b"}, []string{"b-1", "b-2", "b.0", "bb-1"}, false, ""},
		{ListBucketsInput{After: "b-1"}, []string{"b-2", "b.0", "bb-1", "c-3"}, false, ""},
		{ListBucketsInput{After: "b"}, []string{"b-1", "b-2", "b.0", "bb-1", "c-3"}, false, ""},
		{ListBucketsInput{MaxBuckets: 2}, []string{"a-1", "b-1"}, true, "b-1"},
		{ListBucketsInput{MaxBuckets: 2, After: "b-1"}, []string{"b-2", "b.0"}, true, "b.0"},
		{ListBucketsInput{MaxBuckets: 6}, []string{"a-1", "b-1", "b-2", "b.0", "bb-1", "c-3"}, false, ""},
		{ListBucketsInput{Prefix: "b", After: "b.0", MaxBuckets: 1}, []string{"bb-1"}, false, ""},
		{ListBucketsInput{Prefix: "zz"}, nil, false, ""},
	} {
		page, err := e.svc.ListBuckets(ctx, tc.in)
		var got []string
		for _, b := range page.Buckets {
			got = append(got, b.Name)
		}
		if err != nil || !slices.Equal(got, tc.want) || page.IsTruncated != tc.truncated || page.Next != tc.next {
			t.Errorf("ListBuckets(%+v) = %v truncated=%v next=%q err=%v; want %v truncated=%v next=%q",
				tc.in, got, page.IsTruncated, page.Next, err, tc.want, tc.truncated, tc.next)
		}
	}
}

func TestListBucketsDefaultsToMaximumPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	for i := range 3 {
		e.mustCreateBucket(t, fmt.Sprintf("bucket-%d", i))
	}
	for _, max := range []int{0, -1, MaxListBuckets + 1} {
		page, err := e.svc.ListBuckets(ctx, ListBucketsInput{MaxBuckets: max})
		if err != nil || len(page.Buckets) != 3 || page.IsTruncated {
			t.Errorf("ListBuckets(MaxBuckets: %d) = %d buckets, truncated=%v, %v; want 3, false", max, len(page.Buckets), page.IsTruncated, err)
		}
	}
}
