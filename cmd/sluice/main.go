// Command sluice is an S3-compatible object store whose object events run
// code. `sluice serve` runs it; see the README for a quick start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"sluice/internal/server"
)

const usage = `Usage: sluice <command> [flags]

Commands:
  serve    run the server (S3 on one port; see sluice serve -h)
  bench    measure throughput and latency beside the machine's limits (see sluice bench -h)
  logs     print a function's log: sluice logs NAME [--follow]
  wait     wait until a request's event records are delivered: sluice wait REQUEST_ID [--timeout 10s]
  runtimes install-node-sdk [PACKAGE...]
           install the @aws-sdk v3 clients from npm for nodejs functions

Every flag also has an environment variable, shown in its help.
`

func main() {
	oversubscribeProcs()
	relaxGC()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:], os.Stdout, os.Stderr)
	case "bench":
		err = runBench(os.Args[2:], os.Stdout, os.Stderr)
	case "logs":
		err = logs(os.Args[2:], os.Stdout, os.Stderr)
	case "wait":
		err = wait(os.Args[2:], os.Stdout, os.Stderr)
	case "runtimes":
		err = runtimesCmd(os.Args[2:], os.Stdout, os.Stderr)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "sluice: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("SLUICE_ADDR", "127.0.0.1:9000"), "listen address HOST:PORT; port 0 picks a free one (SLUICE_ADDR)")
	data := fs.String("data", env("SLUICE_DATA", "sluice-data"), "data directory (SLUICE_DATA)")
	logLevel := fs.String("log-level", env("SLUICE_LOG_LEVEL", "info"), "debug, info, warn or error (SLUICE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := server.Config{
		Addr:          *addr,
		DataDir:       *data,
		Region:        env("SLUICE_REGION", "us-east-1"),
		AccountID:     env("SLUICE_ACCOUNT_ID", "000000000000"),
		PublicURL:     os.Getenv("SLUICE_PUBLIC_URL"),
		RootAccessKey: os.Getenv("SLUICE_ROOT_ACCESS_KEY"),
		RootSecretKey: os.Getenv("SLUICE_ROOT_SECRET_KEY"),
		RuntimeDir:    os.Getenv("SLUICE_RUNTIME_DIR"),
		Python:        os.Getenv("SLUICE_PYTHON"),
		Node:          os.Getenv("SLUICE_NODE"),
		Logger:        logger,
	}
	if d := os.Getenv("SLUICE_DOMAIN"); d != "" {
		cfg.Domains = strings.Split(d, ",")
	}
	if v := os.Getenv("SLUICE_MAX_INSTANCES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("SLUICE_MAX_INSTANCES=%q: want a positive number", v)
		}
		cfg.MaxInstances = n
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	endpoint := srv.URL()
	root := srv.RootCredentials()
	fmt.Fprintf(stdout, "Sluice is listening on %s (data in %s)\n", endpoint, srv.DataDir())
	fmt.Fprintf(stdout, "export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=%s AWS_ENDPOINT_URL=%s\n",
		root.AccessKeyID, root.SecretAccessKey, cfg.Region, endpoint)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Run(ctx)
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// oversubscribeProcs runs twice as many Ps as the runtime's default (the
// usable CPUs), unless GOMAXPROCS is set. Every durable commit ends in an
// fdatasync on Pebble's WAL writer, and a goroutine blocked in a syscall
// keeps its P until sysmon takes it back: with one P per core, half of a
// 2-core machine sits in fdatasync while requests wait for a P. Measured
// with `sluice bench --duration 3s --concurrency 1,32` on 2 cores
// (docs/benchmarks.md): PUT/s @32 0.14 C with 2 Ps, 0.21 to 0.23 C with 4.
func oversubscribeProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
}

// relaxGC lets the heap grow to three times the live heap between
// collections instead of two (GOGC 200), unless GOGC is set. The live Go
// heap is small (Pebble keeps its block cache and memtables in manually
// managed memory) and a small request allocates a few KiB that die at
// once, so collections ran often for little: GC was about a tenth of a
// PUT's CPU. Interleaved runs of `sluice bench --duration 3s
// --concurrency 32` (docs/benchmarks.md): PUT/s @32 10,537, 10,739,
// 12,019 with GOGC 100 against 10,652, 13,471, 14,615 with 200.
func relaxGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}
