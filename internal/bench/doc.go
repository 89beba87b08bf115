// Package bench is the load tool behind `sluice bench` (issue 3, "Speed").
//
// It measures 1 KiB PUT and GET throughput with p50 and p99 latency at
// several concurrencies, MB/s for large objects, optionally a 5 GiB round
// trip with the server's resident memory growth, and, in the same run, the
// machine's own limits that bound those figures:
//
//   - f: p50 of appending 1.3 KB to a file in the data directory and
//     fdatasync-ing it (what one WAL commit costs on that disk);
//   - L: p50 of a bare loopback HTTP round trip against a trivial net/http
//     server in this process;
//   - C: requests/s of 1 KiB POSTs at concurrency 32 against that server.
//
// The limits are measured before and after the S3 steps (the machines are
// shared and noisy) and the aims are evaluated as ratios to their
// mean, so a figure means something on whatever machine ran it.
//
// The tool speaks plain S3 over HTTP (path-style, SigV4 header signing with
// the payload's SHA-256), so it benches any S3 endpoint, not only Sluice.
// It is a tool, not domain code: it reads the wall clock directly.
//
// Other services have runs of their own, chosen by --service: sqs
// (sqs.go), lambda (lambda.go: warm Invoke and cold starts of a Go echo
// bootstrap built at bench time, beside P, a loopback round trip to
// another process, and X, a bare fork+exec of the same bootstrap), and
// the event pipelines of later issues.
package bench
