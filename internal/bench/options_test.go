package bench

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1024", 1024, false},
		{"0", 0, false},
		{"1KiB", 1 << 10, false},
		{"1kib", 1 << 10, false},
		{"64MiB", 64 << 20, false},
		{"5GiB", 5 << 30, false},
		{"5 GiB", 5 << 30, false},
		{"1KB", 1000, false},
		{"3MB", 3e6, false},
		{"2GB", 2e9, false},
		{"10B", 10, false},
		{"", 0, true},
		{"KiB", 0, true},
		{"-1KiB", 0, true},
		{"1.5MiB", 0, true},
		{"1XB", 0, true},
		{"9999999999TiB", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseConcurrency(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,8,32,64", []int{1, 8, 32, 64}, false},
		{" 4 , 2 ", []int{4, 2}, false},
		{"1,1,2", []int{1, 2}, false},
		{"0", nil, true},
		{"-1", nil, true},
		{"1,,2", nil, true},
		{"a", nil, true},
		{"5000", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseConcurrency(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseConcurrency(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	o, err := ParseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultOptions()
	if o.Duration != 5*time.Second || !slices.Equal(o.Concurrency, []int{1, 8, 32, 64}) ||
		o.Size != 1024 || o.LargeSize != 64<<20 || o.LargeCount != want.LargeCount ||
		o.Huge || o.HugeSize != 5<<30 || o.Endpoint != "" || o.Region != "us-east-1" {
		t.Errorf("defaults = %+v", o)
	}
}

func TestParseFlagsSet(t *testing.T) {
	o, err := ParseFlags([]string{
		"--endpoint", "http://127.0.0.1:9000/", "--access-key", "AK", "--secret-key", "SK",
		"--duration", "200ms", "--concurrency", "1,2", "--size", "4KiB", "--large-size", "1MiB",
		"--large-count", "3", "--huge", "--huge-size", "10MiB", "--json", "-", "--data", "/d",
		"--server-pid", "42", "--cpuprofile", "cpu.out",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "http://127.0.0.1:9000" || o.AccessKey != "AK" || o.SecretKey != "SK" ||
		o.Duration != 200*time.Millisecond || !slices.Equal(o.Concurrency, []int{1, 2}) ||
		o.Size != 4096 || o.LargeSize != 1<<20 || o.LargeCount != 3 || !o.Huge || o.HugeSize != 10<<20 ||
		o.JSON != "-" || o.Data != "/d" || o.ServerPID != 42 || o.CPUProfile != "cpu.out" {
		t.Errorf("parsed = %+v", o)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--size", "big"}, "--size"},
		{[]string{"--size", "0"}, "--size"},
		{[]string{"--large-size", "x"}, "--large-size"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--endpoint", "127.0.0.1:9000"}, "--endpoint"},
		{[]string{"--server-pid", "7"}, "--server-pid"},
		{[]string{"--large-count", "-1"}, "--large-count"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--nope"}, "not defined"},
	}
	for _, tc := range tests {
		_, err := ParseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFlags(%q) error = %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
	var usage strings.Builder
	if _, err := ParseFlags([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(usage.String(), "--endpoint") && !strings.Contains(usage.String(), "-endpoint") {
		t.Errorf("-h usage does not list the flags:\n%s", usage.String())
	}
}
