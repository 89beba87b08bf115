package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sluice/internal/bench"
	"sluice/internal/server"
)

// runBench is `sluice bench`: it starts an in-process server on
// 127.0.0.1:0 with a fresh data directory (or uses --endpoint), runs the
// load tool against it and prints the report.
func runBench(args []string, stdout, stderr io.Writer) error {
	opts, err := bench.ParseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := bench.Config{Options: opts, Progress: stderr}
	if opts.Endpoint == "" {
		parent := opts.Data
		if parent == "" {
			parent = "."
		}
		dir, err := os.MkdirTemp(parent, "sluice-bench-")
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		if !opts.Keep {
			defer os.RemoveAll(dir)
		}
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir})
		if err != nil {
			return err
		}
		srvCtx, stopServer := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Run(srvCtx) }()
		// The server must be closed before its directory is removed.
		defer func() {
			stopServer()
			if err := <-served; err != nil {
				fmt.Fprintln(stderr, "sluice bench: server:", err)
			}
		}()
		root := srv.RootCredentials()
		cfg.Endpoint, cfg.AccessKey, cfg.SecretKey = srv.URL(), root.AccessKeyID, root.SecretAccessKey
		cfg.Target = "in-process sluice"
		cfg.FsyncDir, cfg.SpaceDir = dir, dir
		cfg.FsyncNote = "the in-process server's data directory"
		if opts.Keep {
			cfg.FsyncNote += ", kept"
		}
		// Client and server share this process, so /proc/self is the
		// server's memory plus the client's (which streams and stays small).
		cfg.RSS, cfg.RSSSource = bench.ProcRSS(0), "/proc/self, client and server in one process"
	} else {
		if cfg.AccessKey == "" {
			cfg.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
		}
		if cfg.SecretKey == "" {
			cfg.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		}
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return errors.New("--endpoint needs --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
		}
		cfg.Target = "external server"
		if opts.Data != "" {
			cfg.FsyncDir, cfg.SpaceDir = opts.Data, opts.Data
			cfg.FsyncNote = "the external server's data directory, as given by --data"
		} else {
			cfg.FsyncDir = "."
			cfg.FsyncNote = "the current directory: --data did not name the server's data directory, so f may be another disk's"
		}
		if opts.ServerPID != 0 {
			cfg.RSS, cfg.RSSSource = bench.ProcRSS(opts.ServerPID), fmt.Sprintf("/proc/%d/status", opts.ServerPID)
		}
	}

	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		cfg.CPUProfile = f
	}

	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	switch opts.JSON {
	case "":
	case "-":
		return rep.WriteJSON(stdout)
	default:
		f, err := os.Create(opts.JSON)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}
