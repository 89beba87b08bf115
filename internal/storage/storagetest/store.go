// Package storagetest is the conformance suite of the storage contract. Every
// engine runs it: single calls, and the invariants that must hold under
// concurrency (counters, transfers, one winner per claim, phantom
// protection, transactional enqueue).
package storagetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"sluice/internal/storage"
)

// TestStore runs the Store conformance suite. open returns a new, empty
// store; the suite closes it.
func TestStore(t *testing.T, open func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Basics", testBasics},
		{"Iterate", testIterate},
		{"OwnWrites", testOwnWrites},
		{"ReservedKeys", testReserved},
		{"FnErrorWritesNothing", testFnError},
		{"ContextCanceled", testContextCanceled},
		{"Counters", testCounters},
		{"Transfers", testTransfers},
		{"OneClaimWinner", testClaim},
		{"RangeInsertIfEmpty", testRangeInsert},
		{"Enqueue", testEnqueue},
		{"EnqueueConcurrent", testEnqueueConcurrent},
		{"WaitEnqueued", testWaitEnqueued},
		{"BlobRefs", testBlobRefs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
	t.Run("Closed", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		ctx := context.Background()
		if err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("k"), []byte("v")) }); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("Update after Close = %v, want ErrClosed", err)
		}
		if err := s.View(ctx, func(tx storage.ReadTx) error { return nil }); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("View after Close = %v, want ErrClosed", err)
		}
	})
}

// TestDurable checks that committed data survives Close and reopen. open
// returns a function that opens the same store each time it is called.
func TestDurable(t *testing.T, open func(t *testing.T) func() storage.Store) {
	reopen := open(t)
	ctx := context.Background()
	s := reopen()
	var ids []string
	for i := 0; i < 3; i++ {
		err := s.Update(ctx, func(tx storage.Tx) error {
			if err := tx.Set(fmt.Appendf(nil, "key%d", i), fmt.Appendf(nil, "value%d", i)); err != nil {
				return err
			}
			id, err := tx.Enqueue("q", storage.Message{Body: fmt.Appendf(nil, "m%d", i)})
			ids = append(ids, id)
			return err
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	mustUpdate(t, s, func(tx storage.Tx) error { return tx.RefBlob("blob1", []byte("owner")) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = reopen()
	defer s.Close()
	mustView(t, s, func(tx storage.ReadTx) error {
		for i := 0; i < 3; i++ {
			v, err := tx.Get(fmt.Appendf(nil, "key%d", i))
			if err != nil || string(v) != fmt.Sprintf("value%d", i) {
				t.Errorf("after reopen Get(key%d) = %q, %v; want value%d", i, v, err, i)
			}
		}
		got := messageIDs(t, tx, "q")
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("after reopen messages = %v, want %v", got, ids)
		}
		ok, err := tx.BlobReferenced("blob1")
		if err != nil || !ok {
			t.Errorf("after reopen BlobReferenced = %v, %v; want true", ok, err)
		}
		return nil
	})
	// Ids keep increasing across the restart.
	var id string
	mustUpdate(t, s, func(tx storage.Tx) error {
		var err error
		id, err = tx.Enqueue("q", storage.Message{Body: []byte("after")})
		return err
	})
	if id <= ids[len(ids)-1] {
		t.Errorf("id after reopen %q, want greater than %q", id, ids[len(ids)-1])
	}
}

func mustUpdate(t *testing.T, s storage.Store, fn func(tx storage.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t *testing.T, s storage.Store, fn func(tx storage.ReadTx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func messageIDs(t *testing.T, tx storage.ReadTx, queue string) []string {
	t.Helper()
	var ids []string
	if err := tx.Messages(queue, func(m storage.Message) bool {
		ids = append(ids, m.ID)
		return true
	}); err != nil {
		t.Fatalf("Messages(%q): %v", queue, err)
	}
	return ids
}

func testBasics(t *testing.T, s storage.Store) {
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.Set([]byte("a"), []byte("1")); err != nil {
			return err
		}
		if err := tx.Set([]byte("empty"), nil); err != nil {
			return err
		}
		return tx.Set([]byte("b"), []byte("2"))
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		for _, c := range []struct{ key, want string }{{"a", "1"}, {"b", "2"}, {"empty", ""}} {
			v, err := tx.Get([]byte(c.key))
			if err != nil || string(v) != c.want {
				t.Errorf("Get(%q) = %q, %v; want %q", c.key, v, err, c.want)
			}
		}
		if _, err := tx.Get([]byte("missing")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
		}
		return nil
	})
	// Overwrite and delete, including deleting a missing key.
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.Set([]byte("a"), []byte("one")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("never-existed")); err != nil {
			return err
		}
		return tx.Delete([]byte("b"))
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		if v, err := tx.Get([]byte("a")); err != nil || string(v) != "one" {
			t.Errorf("Get(a) after overwrite = %q, %v; want one", v, err)
		}
		if _, err := tx.Get([]byte("b")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(b) after delete error = %v, want ErrNotFound", err)
		}
		return nil
	})
	// Set copies its arguments.
	key, val := []byte("copy"), []byte("orig")
	mustUpdate(t, s, func(tx storage.Tx) error {
		err := tx.Set(key, val)
		key[0], val[0] = 'X', 'X'
		return err
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		if v, err := tx.Get([]byte("copy")); err != nil || string(v) != "orig" {
			t.Errorf("Get(copy) = %q, %v; want orig (Set must copy)", v, err)
		}
		return nil
	})
}

func collect(t *testing.T, it storage.Iterator, ok bool) []string {
	t.Helper()
	var keys []string
	for ; ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("Value: %v", err)
		}
		keys = append(keys, string(it.Key())+"="+string(v))
	}
	return keys
}

func testIterate(t *testing.T, s storage.Store) {
	mustUpdate(t, s, func(tx storage.Tx) error {
		for _, k := range []string{"b", "a", "c/1", "c/2", "d", "\xff"} {
			if err := tx.Set([]byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		// Engine keys must not show up in domain scans.
		if _, err := tx.Enqueue("queue", storage.Message{Body: []byte("x")}); err != nil {
			return err
		}
		return tx.RefBlob("blob", []byte("owner"))
	})
	cases := []struct {
		name         string
		lower, upper []byte
		seek         []byte // nil: First
		want         string
	}{
		{"all", nil, nil, nil, "[a=va b=vb c/1=vc/1 c/2=vc/2 d=vd \xff=v\xff]"},
		{"bounded", []byte("b"), []byte("d"), nil, "[b=vb c/1=vc/1 c/2=vc/2]"},
		{"prefix", []byte("c/"), []byte("c0"), nil, "[c/1=vc/1 c/2=vc/2]"},
		{"empty range", []byte("x"), []byte("y"), nil, "[]"},
		{"inverted range", []byte("d"), []byte("a"), nil, "[]"},
		{"seek inside", []byte("a"), []byte("d"), []byte("c/2"), "[c/2=vc/2]"},
		{"seek between", nil, nil, []byte("bb"), "[c/1=vc/1 c/2=vc/2 d=vd \xff=v\xff]"},
		{"seek below lower", []byte("c"), nil, []byte("a"), "[c/1=vc/1 c/2=vc/2 d=vd \xff=v\xff]"},
		{"seek past upper", []byte("a"), []byte("c"), []byte("z"), "[]"},
	}
	for _, c := range cases {
		for _, inUpdate := range []bool{false, true} {
			run := func(tx storage.ReadTx) error {
				it, err := tx.NewIterator(c.lower, c.upper)
				if err != nil {
					return err
				}
				var ok bool
				if c.seek == nil {
					ok = it.First()
				} else {
					ok = it.SeekGE(c.seek)
				}
				got := fmt.Sprintf("%q", collect(t, it, ok))
				want := fmt.Sprintf("%q", parseList(c.want))
				if got != want {
					t.Errorf("%s (in Update %v): got %s, want %s", c.name, inUpdate, got, want)
				}
				if it.Valid() {
					t.Errorf("%s: Valid after exhausting the iterator", c.name)
				}
				return it.Close()
			}
			if inUpdate {
				mustUpdate(t, s, func(tx storage.Tx) error { return run(tx) })
			} else {
				mustView(t, s, run)
			}
		}
	}
}

// parseList turns "[a b]" into its elements.
func parseList(s string) []string {
	s = s[1 : len(s)-1]
	if s == "" {
		return nil
	}
	return bytes2strings(bytes.Split([]byte(s), []byte(" ")))
}

func bytes2strings(b [][]byte) []string {
	out := make([]string, len(b))
	for i := range b {
		out[i] = string(b[i])
	}
	return out
}

func testOwnWrites(t *testing.T, s storage.Store) {
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.Set([]byte("k1"), []byte("old")); err != nil {
			return err
		}
		return tx.Set([]byte("k3"), []byte("gone"))
	})
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.Set([]byte("k1"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Set([]byte("k2"), []byte("added")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("k3")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("k1")); err != nil || string(v) != "new" {
			t.Errorf("Get own overwrite = %q, %v; want new", v, err)
		}
		if v, err := tx.Get([]byte("k2")); err != nil || string(v) != "added" {
			t.Errorf("Get own insert = %q, %v; want added", v, err)
		}
		if _, err := tx.Get([]byte("k3")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get own delete error = %v, want ErrNotFound", err)
		}
		it, err := tx.NewIterator([]byte("k"), []byte("l"))
		if err != nil {
			return err
		}
		got := fmt.Sprint(collect(t, it, it.First()))
		if want := "[k1=new k2=added]"; got != want {
			t.Errorf("iterator over own writes = %s, want %s", got, want)
		}
		return it.Close()
	})
}

func testReserved(t *testing.T, s storage.Store) {
	key := []byte{storage.ReservedPrefix, 'x'}
	err := s.Update(context.Background(), func(tx storage.Tx) error { return tx.Set(key, []byte("v")) })
	if !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Set of reserved key = %v, want ErrReservedKey", err)
	}
	err = s.Update(context.Background(), func(tx storage.Tx) error { return tx.Delete(key) })
	if !errors.Is(err, storage.ErrReservedKey) {
		t.Errorf("Delete of reserved key = %v, want ErrReservedKey", err)
	}
}

func testFnError(t *testing.T, s storage.Store) {
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx storage.Tx) error {
		if err := tx.Set([]byte("k"), []byte("v")); err != nil {
			return err
		}
		if _, err := tx.Enqueue("q", storage.Message{Body: []byte("m")}); err != nil {
			return err
		}
		if err := tx.RefBlob("b", []byte("o")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		if _, err := tx.Get([]byte("k")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after failed Update error = %v, want ErrNotFound", err)
		}
		if ids := messageIDs(t, tx, "q"); len(ids) != 0 {
			t.Errorf("messages after failed Update = %v, want none", ids)
		}
		if ok, err := tx.BlobReferenced("b"); err != nil || ok {
			t.Errorf("BlobReferenced after failed Update = %v, %v; want false", ok, err)
		}
		return nil
	})
}

func testContextCanceled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, func(tx storage.Tx) error { return tx.Set([]byte("k"), []byte("v")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with canceled ctx = %v, want context.Canceled", err)
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		if _, err := tx.Get([]byte("k")); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after canceled Update error = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func getUint(tx storage.ReadTx, key string) (uint64, error) {
	v, err := tx.Get([]byte(key))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("value of %q has %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func setUint(tx storage.Tx, key string, n uint64) error {
	return tx.Set([]byte(key), binary.BigEndian.AppendUint64(nil, n))
}

// parallel runs fn(i) for i in [0, n) on n goroutines and fails on errors.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(i); err != nil {
				errs <- fmt.Errorf("goroutine %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCounters(t *testing.T, s storage.Store) {
	const n, m = 8, 25
	parallel(t, n, func(int) error {
		for j := 0; j < m; j++ {
			err := s.Update(context.Background(), func(tx storage.Tx) error {
				v, err := getUint(tx, "counter")
				if err != nil {
					return err
				}
				return setUint(tx, "counter", v+1)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		v, err := getUint(tx, "counter")
		if err != nil || v != n*m {
			t.Errorf("counter = %d, %v; want %d", v, err, n*m)
		}
		return nil
	})
}

func testTransfers(t *testing.T, s storage.Store) {
	const accounts, initial, workers, transfers = 5, 100, 8, 25
	const total = accounts * initial
	acct := func(i int) string { return fmt.Sprintf("acct/%d", i) }
	mustUpdate(t, s, func(tx storage.Tx) error {
		for i := 0; i < accounts; i++ {
			if err := setUint(tx, acct(i), initial); err != nil {
				return err
			}
		}
		return nil
	})
	sum := func(tx storage.ReadTx) (uint64, error) {
		it, err := tx.NewIterator([]byte("acct/"), []byte("acct0"))
		if err != nil {
			return 0, err
		}
		var s uint64
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.Value()
			if err != nil {
				it.Close()
				return 0, err
			}
			s += binary.BigEndian.Uint64(v)
		}
		return s, it.Close()
	}
	stop := make(chan struct{})
	var views sync.WaitGroup
	var viewed, badViews int
	views.Add(1)
	go func() {
		defer views.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := s.View(context.Background(), func(tx storage.ReadTx) error {
				got, err := sum(tx)
				if err != nil {
					return err
				}
				viewed++
				if got != total {
					badViews++
				}
				return nil
			})
			if err != nil {
				t.Errorf("View: %v", err)
				return
			}
		}
	}()
	parallel(t, workers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		for j := 0; j < transfers; j++ {
			from, to := rng.IntN(accounts), rng.IntN(accounts)
			amount := uint64(rng.IntN(30))
			err := s.Update(context.Background(), func(tx storage.Tx) error {
				a, err := getUint(tx, acct(from))
				if err != nil {
					return err
				}
				if a < amount {
					return nil // insufficient funds: a valid no-op
				}
				if err := setUint(tx, acct(from), a-amount); err != nil {
					return err
				}
				b, err := getUint(tx, acct(to))
				if err != nil {
					return err
				}
				return setUint(tx, acct(to), b+amount)
			})
			if err != nil {
				return err
			}
			// Read-write transactions see the invariant too.
			err = s.Update(context.Background(), func(tx storage.Tx) error {
				got, err := sum(tx)
				if err == nil && got != total {
					return fmt.Errorf("sum inside Update = %d, want %d", got, total)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	close(stop)
	views.Wait()
	if badViews != 0 {
		t.Errorf("%d of %d concurrent Views saw a total other than %d", badViews, viewed, total)
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		got, err := sum(tx)
		if err != nil || got != total {
			t.Errorf("final total = %d, %v; want %d", got, err, total)
		}
		return nil
	})
}

func testClaim(t *testing.T, s storage.Store) {
	const n = 16
	var mu sync.Mutex
	var winners []int
	parallel(t, n, func(i int) error {
		won := false
		err := s.Update(context.Background(), func(tx storage.Tx) error {
			won = false // fn may run several times; only the last run counts
			_, err := tx.Get([]byte("lease"))
			if err == nil {
				return nil
			}
			if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			won = true
			return tx.Set([]byte("lease"), fmt.Appendf(nil, "%d", i))
		})
		if err == nil && won {
			mu.Lock()
			winners = append(winners, i)
			mu.Unlock()
		}
		return err
	})
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		v, err := tx.Get([]byte("lease"))
		if err != nil || string(v) != fmt.Sprint(winners[0]) {
			t.Errorf("lease holder = %q, %v; want %d", v, err, winners[0])
		}
		return nil
	})
}

func testRangeInsert(t *testing.T, s storage.Store) {
	const n = 16
	parallel(t, n, func(i int) error {
		return s.Update(context.Background(), func(tx storage.Tx) error {
			it, err := tx.NewIterator([]byte("slot/"), []byte("slot0"))
			if err != nil {
				return err
			}
			taken := it.First()
			if err := it.Close(); err != nil {
				return err
			}
			if taken {
				return nil
			}
			// Each goroutine inserts a different key: only range conflict
			// detection (not point keys) can stop two of them.
			return tx.Set(fmt.Appendf(nil, "slot/%02d", i), []byte("x"))
		})
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		it, err := tx.NewIterator([]byte("slot/"), []byte("slot0"))
		if err != nil {
			return err
		}
		got := collect(t, it, it.First())
		if len(got) != 1 {
			t.Errorf("keys in range = %v, want exactly one", got)
		}
		return it.Close()
	})
}

func testEnqueue(t *testing.T, s storage.Store) {
	var ids []string
	for i := 0; i < 3; i++ {
		var id string
		mustUpdate(t, s, func(tx storage.Tx) error {
			var err error
			id, err = tx.Enqueue("q1", storage.Message{
				Body:       fmt.Appendf(nil, "body%d", i),
				Attributes: map[string]string{"n": fmt.Sprint(i)},
			})
			if err != nil {
				return err
			}
			// Own enqueue is visible in the transaction.
			if got := messageIDs(t, tx, "q1"); len(got) != i+1 || got[i] != id {
				t.Errorf("Messages inside Update = %v, want %d ending in %s", got, i+1, id)
			}
			return nil
		})
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Errorf("ids not increasing: %v", ids)
		}
	}
	// A message of another queue and a failed enqueue are not listed.
	mustUpdate(t, s, func(tx storage.Tx) error {
		_, err := tx.Enqueue("q2", storage.Message{Body: []byte("other")})
		return err
	})
	boom := errors.New("boom")
	if err := s.Update(context.Background(), func(tx storage.Tx) error {
		if _, err := tx.Enqueue("q1", storage.Message{Body: []byte("lost")}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	mustView(t, s, func(tx storage.ReadTx) error {
		var got []storage.Message
		if err := tx.Messages("q1", func(m storage.Message) bool { got = append(got, m); return true }); err != nil {
			return err
		}
		if len(got) != 3 {
			t.Fatalf("q1 has %d messages, want 3: %+v", len(got), got)
		}
		for i, m := range got {
			if m.ID != ids[i] || string(m.Body) != fmt.Sprintf("body%d", i) || m.Attributes["n"] != fmt.Sprint(i) {
				t.Errorf("message %d = %+v, want id %s body%d n=%d", i, m, ids[i], i, i)
			}
			if m.EnqueuedAt.IsZero() {
				t.Errorf("message %d has no EnqueuedAt", i)
			}
		}
		// fn returning false stops the scan.
		calls := 0
		if err := tx.Messages("q1", func(storage.Message) bool { calls++; return false }); err != nil {
			return err
		}
		if calls != 1 {
			t.Errorf("Messages called fn %d times after it returned false, want 1", calls)
		}
		if q2 := messageIDs(t, tx, "q2"); len(q2) != 1 {
			t.Errorf("q2 messages = %v, want one", q2)
		}
		return nil
	})
}

func testEnqueueConcurrent(t *testing.T, s storage.Store) {
	const workers, each = 8, 10
	var mu sync.Mutex
	committed := map[string]bool{}
	parallel(t, workers, func(w int) error {
		for j := 0; j < each; j++ {
			var id string
			err := s.Update(context.Background(), func(tx storage.Tx) error {
				var err error
				id, err = tx.Enqueue("shared", storage.Message{Body: fmt.Appendf(nil, "%d/%d", w, j)})
				if err != nil {
					return err
				}
				// Also touch a private key, as an object change would.
				return tx.Set(fmt.Appendf(nil, "obj/%d/%d", w, j), []byte("x"))
			})
			if err != nil {
				return err
			}
			mu.Lock()
			committed[id] = true
			mu.Unlock()
		}
		return nil
	})
	mustView(t, s, func(tx storage.ReadTx) error {
		ids := messageIDs(t, tx, "shared")
		if len(ids) != workers*each {
			t.Errorf("shared has %d messages, want %d", len(ids), workers*each)
		}
		for i, id := range ids {
			if !committed[id] {
				t.Errorf("message %s listed but Enqueue returned another id", id)
			}
			if i > 0 && id <= ids[i-1] {
				t.Errorf("ids out of order at %d: %s after %s", i, id, ids[i-1])
			}
		}
		return nil
	})
}

func testWaitEnqueued(t *testing.T, s storage.Store) {
	ch := s.WaitEnqueued("wq")
	select {
	case <-ch:
		t.Fatal("WaitEnqueued fired before any enqueue")
	default:
	}
	// Neither a failed transaction nor another queue fires it.
	_ = s.Update(context.Background(), func(tx storage.Tx) error {
		if _, err := tx.Enqueue("wq", storage.Message{}); err != nil {
			return err
		}
		return errors.New("abort")
	})
	mustUpdate(t, s, func(tx storage.Tx) error {
		_, err := tx.Enqueue("other", storage.Message{})
		return err
	})
	select {
	case <-ch:
		t.Fatal("WaitEnqueued fired for a failed transaction or another queue")
	default:
	}
	done := make(chan string)
	go func() {
		var id string
		_ = s.Update(context.Background(), func(tx storage.Tx) error {
			var err error
			id, err = tx.Enqueue("wq", storage.Message{Body: []byte("wake")})
			return err
		})
		done <- id
	}()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitEnqueued did not fire within 10s of a commit")
	}
	// When the channel fires, the message is committed and visible.
	var seen []string
	mustView(t, s, func(tx storage.ReadTx) error { seen = messageIDs(t, tx, "wq"); return nil })
	id := <-done
	if len(seen) != 1 || seen[0] != id {
		t.Errorf("after wake-up, wq = %v, want [%s]", seen, id)
	}
	// A fresh wait is not already fired.
	select {
	case <-s.WaitEnqueued("wq"):
		t.Error("WaitEnqueued after the wake-up returned a fired channel")
	default:
	}
}

func testBlobRefs(t *testing.T, s storage.Store) {
	referenced := func(id storage.BlobID) bool {
		var ok bool
		mustView(t, s, func(tx storage.ReadTx) error {
			var err error
			ok, err = tx.BlobReferenced(id)
			return err
		})
		return ok
	}
	if referenced("abc") {
		t.Fatal("fresh blob referenced")
	}
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.RefBlob("abc", []byte("o1")); err != nil {
			return err
		}
		if err := tx.RefBlob("abc", []byte("o1")); err != nil { // idempotent
			return err
		}
		if err := tx.RefBlob("abc", []byte("o2")); err != nil {
			return err
		}
		ok, err := tx.BlobReferenced("abc")
		if err == nil && !ok {
			t.Error("own RefBlob not visible inside Update")
		}
		return err
	})
	// A blob whose id extends another's is not referenced by it.
	if !referenced("abc") || referenced("ab") || referenced("abcd") {
		t.Errorf("referenced abc/ab/abcd = %v/%v/%v, want true/false/false",
			referenced("abc"), referenced("ab"), referenced("abcd"))
	}
	mustUpdate(t, s, func(tx storage.Tx) error { return tx.UnrefBlob("abc", []byte("o1")) })
	if !referenced("abc") {
		t.Error("blob unreferenced while owner o2 still refers to it")
	}
	mustUpdate(t, s, func(tx storage.Tx) error {
		if err := tx.UnrefBlob("abc", []byte("o2")); err != nil {
			return err
		}
		return tx.UnrefBlob("abc", []byte("o2")) // idempotent
	})
	if referenced("abc") {
		t.Error("blob still referenced after every owner unreferenced it")
	}
}
