package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice/internal/auth"
	"sluice/internal/clock"
)

// fakeS3 is a minimal in-memory S3 that checks every request's SigV4
// signature and payload hash with Sluice's own verifier, so the tool's
// signing and its body checks are tested apart from the real server.
type fakeS3 struct {
	verifier *auth.Verifier
	mu       sync.Mutex
	objects  map[string][]byte
	// corrupt, when set, flips a byte of every GET body.
	corrupt  atomic.Bool
	rejected atomic.Int64
}

func newFakeS3() *fakeS3 {
	creds := auth.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "secret/bench"}
	return &fakeS3{
		verifier: &auth.Verifier{Keys: auth.NewStaticKeyring(creds), Clock: clock.Real{}},
		objects:  map[string][]byte{},
	}
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := f.verifier.Verify(r)
	if err != nil {
		f.rejected.Add(1)
		http.Error(w, "signature: "+err.Error(), http.StatusForbidden)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	isBucket := !strings.Contains(path, "/")
	switch {
	case r.Method == http.MethodPut && isBucket:
	case r.Method == http.MethodPut:
		body, err := io.ReadAll(auth.VerifyPayload(r.Body, res.PayloadHash))
		if err != nil {
			f.rejected.Add(1)
			http.Error(w, "payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.objects[path] = body
		f.mu.Unlock()
	case r.Method == http.MethodGet:
		f.mu.Lock()
		body, ok := f.objects[path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		if f.corrupt.Load() && len(body) > 0 {
			body = bytes.Clone(body)
			body[len(body)/2] ^= 0xff
		}
		w.Write(body)
	case r.Method == http.MethodDelete:
		f.mu.Lock()
		delete(f.objects, path)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "MethodNotAllowed", http.StatusMethodNotAllowed)
	}
}

func tinyConfig(t *testing.T, endpoint, secret string) Config {
	o := DefaultOptions()
	o.Endpoint, o.AccessKey, o.SecretKey = endpoint, "AKIDBENCH", secret
	o.Duration = 150 * time.Millisecond
	o.Concurrency = []int{1, 2}
	o.LargeSize, o.LargeCount = 300<<10, 2
	o.Huge, o.HugeSize = true, 1<<20
	o.FsyncIterations, o.RoundTrips = 5, 20
	dir := t.TempDir()
	return Config{Options: o, Target: "fake S3", FsyncDir: dir, RSS: ProcRSS(0), RSSSource: "/proc/self"}
}

func TestRunAgainstFakeS3(t *testing.T) {
	fake := newFakeS3()
	srv := httptest.NewServer(fake)
	defer srv.Close()

	rep, err := Run(context.Background(), tinyConfig(t, srv.URL, "secret/bench"))
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.rejected.Load(); n != 0 {
		t.Errorf("the fake rejected %d requests (bad signature or payload hash)", n)
	}
	if len(rep.Steps) != 4 {
		t.Fatalf("got %d steps, want PUT and GET at 1 and 2", len(rep.Steps))
	}
	for i, want := range []struct {
		op string
		c  int
	}{{"PUT", 1}, {"GET", 1}, {"PUT", 2}, {"GET", 2}} {
		s := rep.Steps[i]
		if s.Op != want.op || s.Concurrency != want.c || s.Requests == 0 || s.Errors != 0 || s.P50Ms <= 0 || s.P99Ms < s.P50Ms || s.PerSecond <= 0 {
			t.Errorf("step %d = %+v, want a clean %s @%d", i, s, want.op, want.c)
		}
	}
	// Every small object the PUT steps counted is stored with its bytes;
	// large and huge objects were deleted at the end.
	puts := rep.Steps[0].Requests + rep.Steps[2].Requests
	fake.mu.Lock()
	stored := len(fake.objects)
	for k, v := range fake.objects {
		if strings.Contains(k, "/large/") || strings.Contains(k, "/huge/") || len(v) != 1024 {
			t.Errorf("object %s (%d bytes) left behind or of the wrong size", k, len(v))
		}
	}
	fake.mu.Unlock()
	if stored != puts {
		t.Errorf("fake holds %d objects, the PUT steps counted %d", stored, puts)
	}
	if len(rep.Large) != 2 || rep.Large[0].Count != 2 || rep.Large[1].Count != 2 || rep.Large[1].Errors != 0 || rep.Large[1].MBPerSecond <= 0 {
		t.Errorf("large = %+v", rep.Large)
	}
	if rep.Huge == nil || rep.Huge.RSSBeforeBytes <= 0 || rep.Huge.GetMBPerSecond <= 0 {
		t.Errorf("huge = %+v", rep.Huge)
	}
	for _, l := range []Limits{rep.LimitsBefore, rep.LimitsAfter} {
		if l.FsyncP50Ms <= 0 || l.FsyncIdleP50Ms <= 0 || l.FsyncOverwriteP50Ms <= 0 || l.LoopbackP50Ms <= 0 || l.LoopbackIdleP50Ms <= 0 || l.PostCeiling <= 0 {
			t.Errorf("limits not measured: %+v", l)
		}
	}
	if len(rep.Aims) != 3 || rep.Aims[0].Status == "n/a" || rep.Aims[1].Status != "n/a" {
		t.Errorf("aims = %+v", rep.Aims)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
}

func TestRunCatchesCorruptGET(t *testing.T) {
	fake := newFakeS3()
	fake.corrupt.Store(true)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := tinyConfig(t, srv.URL, "secret/bench")
	cfg.Concurrency = []int{1}
	cfg.Huge = false
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	get := rep.Steps[1]
	if get.Op != "GET" || get.Errors == 0 || get.Requests != 0 || !strings.Contains(get.FirstError, "differs") {
		t.Errorf("GET of corrupted bodies = %+v, want every request failed as differing", get)
	}
	if rep.Large[1].Errors != 2 || !strings.Contains(rep.Large[1].FirstError, "differs") {
		t.Errorf("large GET of corrupted bodies = %+v", rep.Large[1])
	}
	if rep.Aims[0].Status != "PASS" && rep.Aims[0].Status != "MISS" {
		t.Errorf("latency aim status %q", rep.Aims[0].Status)
	}
}

func TestRunWrongSecretFails(t *testing.T) {
	fake := newFakeS3()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	_, err := Run(context.Background(), tinyConfig(t, srv.URL, "wrong"))
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Run with a wrong secret: error %v, want the bucket creation's 403", err)
	}
}

// measureFsync with a pause sleeps before every sample (warm-up included)
// and returns one latency per measured sample.
func TestMeasureFsyncPausesBeforeEachSample(t *testing.T) {
	const n, pause = 5, 3 * time.Millisecond
	began := time.Now()
	lat, err := measureFsync(t.TempDir(), n, pause, fsyncAppend)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != n {
		t.Fatalf("%d samples, want %d", len(lat), n)
	}
	if elapsed := time.Since(began); elapsed < (n+3)*pause {
		t.Fatalf("took %v, less than the %d pauses of %v", elapsed, n+3, pause)
	}
}

// The overwrite variant of f writes its records over zeros written and
// synced first: the file does not grow while it is measured.
func TestWriteZerosRewindsOverWrittenBlocks(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "z")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = 3*64<<10 + 17
	if err := writeZeros(f, n); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("record")); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != n {
		t.Fatalf("size %d after a record over the zeros, want %d", st.Size(), n)
	}
	got := make([]byte, 8)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != "record\x00\x00" {
		t.Fatalf("file starts %q, want the record over zeros", got)
	}
	lat, err := measureFsync(t.TempDir(), 4, 0, fsyncOverwrite)
	if err != nil || len(lat) != 4 {
		t.Fatalf("measureFsync(overwrite) = %d samples, %v", len(lat), err)
	}
}
