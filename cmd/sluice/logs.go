package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// logs is `sluice logs NAME [--follow] [--tail BYTES]`: it prints a
// function's kept log (the START/END/REPORT lines and the function's own
// output) from the server's /_sluice/functions/NAME/logs endpoint, with
// the root credentials by HTTP Basic.
func logs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: sluice logs NAME [--follow] [--tail BYTES]")
		fs.PrintDefaults()
	}
	follow := fs.Bool("follow", false, "keep printing new log lines until interrupted")
	fs.BoolVar(follow, "f", false, "short for --follow")
	tail := fs.Int("tail", 0, "print only the last BYTES of the kept log first (0: all of it)")
	client := addClientFlags(fs)
	name, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if name == "" {
		fs.Usage()
		return errors.New("logs: a function name is required")
	}
	q := url.Values{}
	if *follow {
		q.Set("follow", "true")
	}
	if *tail > 0 {
		q.Set("tail", strconv.Itoa(*tail))
	}
	path := "functions/" + url.PathEscape(name) + "/logs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resp, err := client.get(ctx, path)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("logs: %s (%s)", e.Error, resp.Status)
		}
		return fmt.Errorf("logs: %s", resp.Status)
	}
	_, err = io.Copy(stdout, resp.Body)
	if ctx.Err() != nil {
		return nil // interrupted while following: a normal end
	}
	return err
}
