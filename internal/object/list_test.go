package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"sluice/internal/storage"
)

// listKeys exercises delimiters: nested prefixes, keys equal to a common
// prefix, multi-character delimiters, unicode, and bytes around '/'.
var listKeys = []string{
	"a", "a/", "a/b", "a/b/c", "a/c", "a-b", "a0", "a.txt",
	"b--x", "b--y--z", "b-", "b---", "b-x",
	"photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg", "photos/2025/x.jpg", "photos/index.html", "photos/",
	"z", "Z", "é", "é/1", "日本/語", "日本", "\U0001F600", "~",
}

// entry is one item of a listing: a key or a common prefix.
type entry struct {
	name string
	cp   bool
}

func (e entry) String() string {
	if e.cp {
		return e.name + "(CP)"
	}
	return e.name
}

// modelList is the listing computed the slow, obvious way: every key,
// sorted, grouped, then filtered by After (a common prefix is listed iff it
// sorts after After, which is the skip rule of ListInput.After).
func modelList(keys []string, in ListInput) []entry {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	var out []entry
	for _, k := range keys {
		if !strings.HasPrefix(k, in.Prefix) {
			continue
		}
		e := entry{name: k}
		if in.Delimiter != "" {
			if i := strings.Index(k[len(in.Prefix):], in.Delimiter); i >= 0 {
				e = entry{name: k[:len(in.Prefix)+i+len(in.Delimiter)], cp: true}
			}
		}
		if e.name <= in.After {
			continue
		}
		if len(out) > 0 && out[len(out)-1] == e {
			continue
		}
		out = append(out, e)
	}
	return out
}

// pageEntries merges a page's objects and common prefixes in listing order.
func pageEntries(p ListPage) []entry {
	var out []entry
	for _, o := range p.Objects {
		out = append(out, entry{name: o.Key})
	}
	for _, c := range p.CommonPrefixes {
		out = append(out, entry{name: c, cp: true})
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out
}

func newListEnv(t *testing.T, keys []string) *env {
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	for _, k := range keys {
		e.mustPut(t, "bkt", k, []byte(k))
	}
	return e
}

func TestListObjectsCases(t *testing.T) {
	ctx := context.Background()
	e := newListEnv(t, listKeys)
	for _, tc := range []struct {
		in        ListInput
		want      string // entries joined by " ", common prefixes marked (CP)
		truncated bool
	}{
		{ListInput{Prefix: "a", Delimiter: "/"}, "a a-b a.txt a/(CP) a0", false},
		{ListInput{Prefix: "a/", Delimiter: "/"}, "a/ a/b a/b/(CP) a/c", false},
		{ListInput{Prefix: "a/"}, "a/ a/b a/b/c a/c", false},
		{ListInput{Prefix: "b", Delimiter: "--"}, "b- b--(CP) b-x", false}, // b--- rolls into b--
		{ListInput{Prefix: "b--", Delimiter: "--"}, "b--- b--x b--y--(CP)", false},
		{ListInput{Prefix: "photos/", Delimiter: "/"}, "photos/ photos/2024/(CP) photos/2025/(CP) photos/index.html", false},
		{ListInput{Prefix: "photos/2024/", Delimiter: "/"}, "photos/2024/feb/(CP) photos/2024/jan/(CP)", false},
		{ListInput{Delimiter: "/", MaxKeys: 3}, "Z a a-b", true},
		{ListInput{Delimiter: "/", After: "a/b", MaxKeys: 3}, "a0 b- b---", true},
		{ListInput{Delimiter: "/", After: "a/", MaxKeys: 2}, "a0 b-", true},
		{ListInput{After: "a/b", MaxKeys: 2}, "a/b/c a/c", true},
		{ListInput{Prefix: "é", Delimiter: "/"}, "é é/(CP)", false},
		{ListInput{Prefix: "nothing"}, "", false},
		{ListInput{After: "~"}, "é é/1 日本 日本/語 \U0001F600", false},
		{ListInput{Prefix: "z"}, "z", false},
	} {
		if tc.in.MaxKeys == 0 {
			tc.in.MaxKeys = 1000
		}
		tc.in.Bucket = "bkt"
		page, err := e.svc.ListObjects(ctx, tc.in)
		if err != nil {
			t.Errorf("ListObjects(%+v): %v", tc.in, err)
			continue
		}
		var got []string
		for _, x := range pageEntries(page) {
			got = append(got, x.String())
		}
		sortedWant := strings.Fields(tc.want)
		slices.SortFunc(sortedWant, func(a, b string) int {
			return strings.Compare(strings.TrimSuffix(a, "(CP)"), strings.TrimSuffix(b, "(CP)"))
		})
		if !slices.Equal(got, sortedWant) || page.IsTruncated != tc.truncated {
			t.Errorf("ListObjects(%+v) = %q truncated=%v; want %q truncated=%v", tc.in, got, page.IsTruncated, sortedWant, tc.truncated)
		}
		// Objects come in UTF-8 byte order, and carry their records.
		if !slices.IsSortedFunc(page.Objects, func(a, b Object) int { return strings.Compare(a.Key, b.Key) }) {
			t.Errorf("ListObjects(%+v): objects not in byte order", tc.in)
		}
		for _, o := range page.Objects {
			if o.Size != int64(len(o.Key)) || o.Bucket != "bkt" || o.ETag == "" {
				t.Errorf("ListObjects: object %+v does not match what was put", o)
			}
		}
	}
}

func TestListObjectsMatchesModel(t *testing.T) {
	ctx := context.Background()
	e := newListEnv(t, listKeys)
	for _, prefix := range []string{"", "a", "a/", "b", "b--", "photos/", "photos/2024/", "日", "x"} {
		for _, delim := range []string{"", "/", "--", "-", "/2", "é"} {
			for _, after := range []string{"", "a", "a/", "a/b", "b--", "photos/2024/", "photos/2024/jan/1.jpg", "日本", "\U0001F600"} {
				in := ListInput{Bucket: "bkt", Prefix: prefix, Delimiter: delim, After: after, MaxKeys: 1000}
				want := modelList(listKeys, in)
				page, err := e.svc.ListObjects(ctx, in)
				if err != nil {
					t.Fatalf("ListObjects(%+v): %v", in, err)
				}
				if got := pageEntries(page); !slices.Equal(got, want) || page.IsTruncated {
					t.Errorf("ListObjects(%+v) = %v truncated=%v; want %v", in, got, page.IsTruncated, want)
				}
			}
		}
	}
}

func TestListObjectsPaginationVisitsEachEntryOnce(t *testing.T) {
	ctx := context.Background()
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf("k%02d", i), fmt.Sprintf("d%d/x", i%7), fmt.Sprintf("d%d/y/%d", i%5, i))
	}
	keys = append(keys, "d3/", "d3")
	e := newListEnv(t, keys)
	for _, prefix := range []string{"", "d3/"} {
		for _, delim := range []string{"", "/"} {
			for _, max := range []int{1, 2, 3, 7, 1000} {
				in := ListInput{Bucket: "bkt", Prefix: prefix, Delimiter: delim, MaxKeys: max}
				want := modelList(keys, in)
				var got []entry
				for pages := 0; ; pages++ {
					if pages > len(keys)+1 {
						t.Fatalf("%+v: no end after %d pages", in, pages)
					}
					page, err := e.svc.ListObjects(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					entries := pageEntries(page)
					if len(entries) > max || (page.IsTruncated && len(entries) != max) {
						t.Fatalf("%+v: page of %d entries, truncated=%v", in, len(entries), page.IsTruncated)
					}
					if len(entries) > 0 && page.Next != entries[len(entries)-1].name {
						t.Fatalf("%+v: Next = %q, last entry %q", in, page.Next, entries[len(entries)-1].name)
					}
					got = append(got, entries...)
					if !page.IsTruncated {
						break
					}
					in.After = page.Next
				}
				if !slices.Equal(got, want) {
					t.Errorf("prefix %q delimiter %q max %d: pages gave %v\nwant %v", prefix, delim, max, got, want)
				}
			}
		}
	}
}

func TestListObjectsMaxKeysZeroAndMissingBucket(t *testing.T) {
	ctx := context.Background()
	e := newListEnv(t, []string{"a", "b"})
	page, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 0})
	if err != nil || len(page.Objects)+len(page.CommonPrefixes) != 0 || page.IsTruncated {
		t.Errorf("MaxKeys 0: %+v, %v; want an empty untruncated page", page, err)
	}
	page, err = e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 5000})
	if err != nil || len(page.Objects) != 2 {
		t.Errorf("MaxKeys 5000: %+v, %v; want both keys", page, err)
	}
	for _, max := range []int{0, 10} {
		if _, err := e.svc.ListObjects(ctx, ListInput{Bucket: "nobkt", MaxKeys: max}); !errors.Is(err, ErrNoSuchBucket) {
			t.Errorf("ListObjects(nobkt, MaxKeys %d) = %v, want ErrNoSuchBucket", max, err)
		}
	}
}

func TestListObjectsCapsPageAtMaxListKeys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	var keys []string
	for i := range MaxListKeys + 5 {
		keys = append(keys, fmt.Sprintf("k%05d", i))
	}
	seedObjects(t, e, "bkt", keys)
	page, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", MaxKeys: 100000})
	if err != nil || len(page.Objects) != MaxListKeys || !page.IsTruncated || page.Next != keys[MaxListKeys-1] {
		t.Errorf("MaxKeys 100000 over %d keys: %d objects, truncated=%v, next=%q, %v", len(keys), len(page.Objects), page.IsTruncated, page.Next, err)
	}
}

// seedObjects writes small object records straight into the store, many
// per transaction, to build large listings quickly.
func seedObjects(t testing.TB, e *env, bucket string, keys []string) {
	t.Helper()
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		batch := keys[:n]
		keys = keys[n:]
		err := e.store.Update(context.Background(), func(tx storage.Tx) error {
			for _, k := range batch {
				v, err := encodeRecord(&record{Object: Object{VersionID: NullVersion, Size: 1, ETag: "x"}, Inline: []byte("x")})
				if err != nil {
					return err
				}
				if err := tx.Set(objectKey(bucket, k), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// countingStore counts iterator moves, to prove that a common prefix is
// skipped by a seek rather than scanned.
type countingStore struct {
	storage.Store
	moves atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(storage.ReadTx) error) error {
	return c.Store.View(ctx, func(tx storage.ReadTx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	storage.ReadTx
	c *countingStore
}

func (t countingTx) NewIterator(lower, upper []byte) (storage.Iterator, error) {
	it, err := t.ReadTx.NewIterator(lower, upper)
	if err != nil {
		return nil, err
	}
	return countingIter{it, t.c}, nil
}

type countingIter struct {
	storage.Iterator
	c *countingStore
}

func (i countingIter) First() bool          { i.c.moves.Add(1); return i.Iterator.First() }
func (i countingIter) Next() bool           { i.c.moves.Add(1); return i.Iterator.Next() }
func (i countingIter) SeekGE(k []byte) bool { i.c.moves.Add(1); return i.Iterator.SeekGE(k) }

func manyUnderOnePrefix(n int) []string {
	keys := []string{"a", "m", "z/1"}
	for i := range n {
		keys = append(keys, fmt.Sprintf("big/%06d", i))
	}
	return keys
}

func TestDelimiterSeeksPastCommonPrefix(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testInline)
	e.mustCreateBucket(t, "bkt")
	keys := manyUnderOnePrefix(10000)
	seedObjects(t, e, "bkt", keys)
	cs := &countingStore{Store: e.store}
	svc := New(Config{Store: cs, Blobs: e.blobs, Clock: e.clock})

	page, err := svc.ListObjects(ctx, ListInput{Bucket: "bkt", Delimiter: "/", MaxKeys: 1000})
	got := pageEntries(page)
	want := []entry{{"a", false}, {"big/", true}, {"m", false}, {"z/", true}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListObjects = %v, %v; want %v", got, err, want)
	}
	if m := cs.moves.Load(); m > 10 {
		t.Errorf("listing 4 entries over %d keys took %d iterator moves; the common prefix was scanned, not skipped", len(keys), m)
	}
	// Resuming after the common prefix also seeks.
	cs.moves.Store(0)
	page, err = svc.ListObjects(ctx, ListInput{Bucket: "bkt", Delimiter: "/", After: "big/", MaxKeys: 1000})
	if got := pageEntries(page); err != nil || !slices.Equal(got, want[2:]) {
		t.Fatalf("ListObjects after big/ = %v, %v; want %v", got, err, want[2:])
	}
	if m := cs.moves.Load(); m > 10 {
		t.Errorf("resuming after a common prefix took %d iterator moves", m)
	}
}

func BenchmarkListDelimiterOverLargePrefix(b *testing.B) {
	e := newEnv(b, testInline)
	e.mustCreateBucket(b, "bkt")
	seedObjects(b, e, "bkt", manyUnderOnePrefix(10000))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.ListObjects(ctx, ListInput{Bucket: "bkt", Delimiter: "/", MaxKeys: 1000}); err != nil {
			b.Fatal(err)
		}
	}
}
