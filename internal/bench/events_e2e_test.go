package bench

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"sluice/internal/server"
)

// startSluice runs a real server for a bench run and returns a tiny
// config for it.
// runSluice starts a server on a fresh data directory, stopped when the
// test ends, and returns it with the directory.
func runSluice(t *testing.T) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv, dir
}

func startSluice(t *testing.T, service string) Config {
	t.Helper()
	srv, dir := runSluice(t)
	root := srv.RootCredentials()
	cfg := tinyConfig(t, srv.URL(), root.SecretAccessKey)
	cfg.AccessKey, cfg.Target, cfg.Service, cfg.FsyncDir = root.AccessKeyID, "in-process sluice", service, dir
	return cfg
}

// TestRunEventsAgainstSluice runs the events mode with tiny steps against
// the real server: every step is there with no failed request, every
// acknowledged PUT's event reached a consumer exactly once, and the aims
// are evaluated.
func TestRunEventsAgainstSluice(t *testing.T) {
	cfg := startSluice(t, "events")
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	var ops []string
	for _, s := range rep.Steps {
		ops = append(ops, s.Op)
		if s.Requests == 0 || s.Errors != 0 {
			t.Errorf("step %s @%d = %+v, want a clean step", s.Op, s.Concurrency, s)
		}
	}
	want := "put-plain put-notify-idle put-notify event put-plain-after put-plain put-notify-idle put-notify event put-plain-after put-paced event-paced"
	if got := strings.Join(ops, " "); got != want {
		t.Fatalf("steps %q, want %q", got, want)
	}
	if len(rep.Events.Delivery) != 5 {
		t.Fatalf("delivery rows = %+v, want 5", rep.Events.Delivery)
	}
	for _, d := range rep.Events.Delivery {
		if d.Acked == 0 || d.Delivered != d.Acked || d.Lost != 0 || d.Errors != 0 {
			t.Errorf("delivery %s @%d = %+v, want every event once", d.Op, d.Concurrency, d)
		}
	}
	if len(rep.Aims) != 5 || rep.Aims[0].Status == "n/a" {
		t.Errorf("aims = %+v", rep.Aims)
	}
}

// TestRunS3FunctionAgainstSluice runs the s3fn mode (it builds the
// function with the go command) with tiny steps: the function started
// for every upload, the burst included, within the cap.
func TestRunS3FunctionAgainstSluice(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the function")
	}
	if testing.Short() {
		t.Skip("builds a function and uploads 2,000 objects")
	}
	cfg := startSluice(t, "s3fn")
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	for _, d := range rep.Events.Delivery {
		if d.Acked == 0 || d.Delivered != d.Acked || d.Lost != 0 {
			t.Errorf("delivery %s @%d = %+v, want every event once", d.Op, d.Concurrency, d)
		}
	}
	if b, ok := findStep(rep.Steps, "fn-burst", fnBurstConc); !ok || b.Requests != fnBurst {
		t.Errorf("fn-burst = %+v, want %d starts", b, fnBurst)
	}
	if p := rep.Events.Processes; p == nil || p.Distinct < 1 || p.Distinct > fnCap {
		t.Errorf("processes = %+v, want 1 to %d", p, fnCap)
	}
	if len(rep.Aims) != 2 || rep.Aims[1].Status != "PASS" {
		t.Errorf("aims = %+v, want the burst aim to pass", rep.Aims)
	}
}
