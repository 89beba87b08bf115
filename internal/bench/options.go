package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options are the flags of `sluice bench`.
type Options struct {
	// Endpoint, when set, names an external S3 endpoint to bench; empty
	// means the caller starts an in-process server.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	// Data is, with no Endpoint, the parent of the fresh data directory of
	// the in-process server; with an Endpoint, that server's data
	// directory (where f is measured; empty: the current directory).
	Data string
	// Service is what the run benches: "s3" (the default) or "sqs" (queue
	// send, receive+delete and long-poll wake-up; see sqs.go).
	Service string
	// PollSamples is how many send-to-waiting-receive latencies the SQS
	// run samples.
	PollSamples int
	// Bootstrap, for --service lambda, is a provided.al2023 bootstrap to
	// bench instead of the echo the tool builds; it must answer with its
	// event. ColdSamples is how many cold starts are sampled per runtime.
	Bootstrap   string
	ColdSamples int
	// Keep leaves the in-process server's data directory in place.
	Keep bool

	Duration    time.Duration // per PUT or GET step, and for C
	Concurrency []int
	Size        int64 // small object size
	LargeSize   int64
	LargeCount  int
	Huge        bool  // opt-in round trip of HugeSize bytes
	HugeSize    int64 // default 5 GiB

	// ServerPID is an external server's process id, for its VmRSS in the
	// huge step; 0 with an Endpoint means RSS is not reported.
	ServerPID int

	JSON       string // path of the JSON report; "-" for stdout
	CPUProfile string // path of a CPU profile of the S3 steps

	FsyncIterations int // samples of f
	RoundTrips      int // samples of L
}

// DefaultOptions are the settings `sluice bench` uses with no flags.
func DefaultOptions() Options {
	return Options{
		Region:          "us-east-1",
		Service:         "s3",
		PollSamples:     300,
		ColdSamples:     20,
		Duration:        5 * time.Second,
		Concurrency:     []int{1, 8, 32, 64},
		Size:            1 << 10,
		LargeSize:       64 << 20,
		LargeCount:      8,
		HugeSize:        5 << 30,
		FsyncIterations: 300,
		RoundTrips:      2000,
	}
}

// ParseFlags parses the arguments of `sluice bench`. Usage and errors go to
// stderr; -h returns flag.ErrHelp.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: sluice bench [flags]

Measures S3 PUT/GET throughput and latency, large-object MB/s, and the
machine's limits in the same run (f: append+fdatasync p50 in the data
directory; L: loopback HTTP round trip p50; C: loopback POST ceiling at
concurrency 32). With no --endpoint it starts an in-process server on
127.0.0.1:0 with a fresh data directory.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Endpoint, "endpoint", "", "bench this external S3 endpoint (http://host:port) instead of an in-process server")
	fs.StringVar(&o.AccessKey, "access-key", "", "access key for --endpoint (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&o.SecretKey, "secret-key", "", "secret key for --endpoint (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&o.Region, "region", o.Region, "signing region")
	fs.StringVar(&o.Data, "data", "", "in-process: parent of the fresh data directory (default the current directory); with --endpoint: that server's data directory, where f is measured")
	fs.StringVar(&o.Service, "service", o.Service, "what to bench: s3, sqs (send, receive+delete, send-to-waiting-long-poll latency; default concurrency 1,8,32), lambda (warm Invoke, Go and Python cold starts; default concurrency 1,8), or events (bucket notifications to a queue: PUT-to-consumer latency, paced and @1,32), or s3fn (bucket notifications to a function: warm PUT-to-function-start latency beside PUT-to-queue, a burst of 2,000 uploads), or multipart (issue 4: --large-size objects, default 1GiB, uploaded in 8 and 64 MiB parts and read in 8 MiB ranges at each --concurrency, default 8, beside write/cp/read of the same bytes in the data directory; --huge adds a multipart upload of --huge-size with the server's RSS growth)")
	fs.IntVar(&o.PollSamples, "poll-samples", o.PollSamples, "sqs: samples of the send-to-waiting-receive latency")
	fs.StringVar(&o.Bootstrap, "bootstrap", "", "lambda: bench this provided.al2023 bootstrap (it must echo its event) instead of building the echo")
	fs.IntVar(&o.ColdSamples, "cold-samples", o.ColdSamples, "lambda: cold starts sampled per runtime (X takes 10 fork+exec samples per cold sample)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the in-process server's data directory")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each PUT and GET step (and of the C measurement)")
	conc := fs.String("concurrency", joinInts(o.Concurrency), "comma-separated concurrency levels")
	size := fs.String("size", "1KiB", "small object size (B, KiB, MiB, GiB, KB, MB, GB)")
	large := fs.String("large-size", "64MiB", "large object size; 0 skips the large step")
	fs.IntVar(&o.LargeCount, "large-count", o.LargeCount, "number of large objects PUT then GET")
	fs.BoolVar(&o.Huge, "huge", false, "also round-trip one --huge-size object and report the server's RSS growth")
	huge := fs.String("huge-size", "5GiB", "size of the --huge object")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "with --endpoint: the server's pid, to read its VmRSS from /proc/<pid>/status")
	fs.StringVar(&o.JSON, "json", "", "also write the report as JSON to this file (- for stdout)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the S3 steps (client and in-process server) to this file")
	fs.IntVar(&o.FsyncIterations, "fsync-iterations", o.FsyncIterations, "samples of f")
	fs.IntVar(&o.RoundTrips, "round-trips", o.RoundTrips, "samples of L")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	switch o.Service {
	case "s3":
	case "sqs":
		concSet := false
		fs.Visit(func(f *flag.Flag) { concSet = concSet || f.Name == "concurrency" })
		if !concSet {
			*conc = "1,8,32" // the levels issue 5 names
		}
		if o.PollSamples < 1 {
			return o, errors.New("--poll-samples: must be at least 1")
		}
	case "lambda":
		concSet := false
		fs.Visit(func(f *flag.Flag) { concSet = concSet || f.Name == "concurrency" })
		if !concSet {
			*conc = "1,8" // the levels issue 7 names
		}
		if o.ColdSamples < 1 {
			return o, errors.New("--cold-samples: must be at least 1")
		}
	case "s3fn":
	case "multipart":
		// Issue 4: 1 GiB objects, 8 workers as the transfer managers use.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["concurrency"] {
			*conc = "8"
		}
		if !set["large-size"] {
			*large = "1GiB"
		}
	case "events":
		concSet := false
		fs.Visit(func(f *flag.Flag) { concSet = concSet || f.Name == "concurrency" })
		if !concSet {
			*conc = "1,32" // the levels issue 6 names
		}
	default:
		return o, fmt.Errorf("--service: want s3, sqs, lambda, events, s3fn or multipart, got %q", o.Service)
	}
	if o.Concurrency, err = ParseConcurrency(*conc); err != nil {
		return o, fmt.Errorf("--concurrency: %w", err)
	}
	if o.Size, err = ParseSize(*size); err != nil {
		return o, fmt.Errorf("--size: %w", err)
	}
	if o.Size < 1 {
		return o, errors.New("--size: must be at least 1 byte")
	}
	if o.LargeSize, err = ParseSize(*large); err != nil {
		return o, fmt.Errorf("--large-size: %w", err)
	}
	if o.HugeSize, err = ParseSize(*huge); err != nil {
		return o, fmt.Errorf("--huge-size: %w", err)
	}
	if o.Huge && o.HugeSize < 1 {
		return o, errors.New("--huge-size: must be at least 1 byte")
	}
	if o.Duration <= 0 {
		return o, errors.New("--duration: must be positive")
	}
	if o.LargeCount < 0 || o.FsyncIterations < 1 || o.RoundTrips < 1 {
		return o, errors.New("--large-count must be >= 0, --fsync-iterations and --round-trips >= 1")
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--endpoint: want http://host:port, got %q", o.Endpoint)
		}
		o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	} else if o.ServerPID != 0 {
		return o, errors.New("--server-pid needs --endpoint (the in-process server's RSS is read from /proc/self)")
	}
	return o, nil
}

// ParseConcurrency parses a comma-separated list of positive integers,
// keeping their order and dropping repeats.
func ParseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		if n > 4096 {
			return nil, fmt.Errorf("%d is more than 4096", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// sizeUnits are the suffixes ParseSize accepts: binary (KiB) and decimal
// (KB) multiples spelled out, so "1KB" never silently means 1024.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize parses a byte count such as "1024", "1KiB", "64MiB" or "5GB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(strings.ToLower(t), strings.ToLower(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 1024, 1KiB, 64MiB, 5GiB)", s)
	}
	if n > 0 && mult > (1<<62)/n {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// formatSize renders n bytes with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%d %s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%d B", n)
}
