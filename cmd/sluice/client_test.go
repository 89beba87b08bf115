package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseWithArg(t *testing.T) {
	tests := []struct {
		args   []string
		arg    string
		follow bool
		tail   int
		wait   time.Duration
	}{
		{args: []string{"hello", "--follow"}, arg: "hello", follow: true},
		{args: []string{"--follow", "hello"}, arg: "hello", follow: true},
		{args: []string{"--tail", "100", "hello"}, arg: "hello", tail: 100},
		{args: []string{"hello", "--tail=5", "-f"}, arg: "hello", tail: 5, follow: true},
		{args: []string{"--timeout", "3s", "REQ1"}, arg: "REQ1", wait: 3 * time.Second},
		{args: []string{"--follow"}, arg: "", follow: true},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		follow := fs.Bool("follow", false, "")
		fs.BoolVar(follow, "f", false, "")
		tail := fs.Int("tail", 0, "")
		wait := fs.Duration("timeout", 0, "")
		arg, err := parseWithArg(fs, tc.args)
		if err != nil || arg != tc.arg || *follow != tc.follow || *tail != tc.tail || *wait != tc.wait {
			t.Errorf("parseWithArg(%q) = %q, follow %v, tail %d, timeout %v, err %v; want %q, %v, %d, %v",
				tc.args, arg, *follow, *tail, *wait, err, tc.arg, tc.follow, tc.tail, tc.wait)
		}
	}
}
