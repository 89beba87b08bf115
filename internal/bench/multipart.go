package bench

// Issue 4's benchmark (`sluice bench --service multipart`): "Multipart
// upload and ranged GET throughput for 1 GiB objects in the load tool,
// beside a plain cp of the same bytes on the data directory's disk."
//
// The upload is what the AWS CLI and the SDK transfer managers do: the
// object cut in fixed parts (8 MiB, their default, and 64 MiB) sent by
// several workers at once, then CompleteMultipartUpload. The reads are
// ranged GETs of 8 MiB by 8 workers, as the transfer managers download,
// and one whole-object GET. Bodies are generated and verified as they
// stream (offset-keyed, so a part or range returned at the wrong place is
// caught), never held whole. Parts are sent with UNSIGNED-PAYLOAD, so the
// client does not SHA-256 a second copy of every byte on the same cores
// (the AWS CLI signs that way over HTTPS).
//
// Beside it, the same run writes 1 GiB with this generator to a file in
// the data directory and fsyncs it, runs the real cp(1) on it and fsyncs
// the copy, and reads the copy back: before and after the S3 steps, since
// the machines are noisy. Both sides read from the page cache (the object
// was just written, as was the file).

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// multipartPartSizes are the part sizes of the upload steps: the AWS CLI's
// and the transfer managers' default chunk size, and a large one.
var multipartPartSizes = []int64{8 << 20, 64 << 20}

const (
	// multipartRangeSize is the ranged GET size (the transfer managers'
	// default part size for downloads).
	multipartRangeSize = 8 << 20
	// multipartHugePartSize is the part size of the --huge upload.
	multipartHugePartSize = 64 << 20
	unsignedPayload       = "UNSIGNED-PAYLOAD"
)

// MultipartRun is the report of a multipart run.
type MultipartRun struct {
	Size    int64             `json:"size"`
	Uploads []MultipartUpload `json:"uploads"`
	Reads   []RangedRead      `json:"reads"`
	// DiskBefore and DiskAfter are the plain-file figures measured before
	// and after the S3 steps; Disk is their mean.
	DiskBefore DiskCopy `json:"disk_before"`
	DiskAfter  DiskCopy `json:"disk_after"`
	Disk       DiskCopy `json:"disk_mean"`
	// Huge is the --huge multipart upload with the server's RSS growth.
	Huge *MultipartHuge `json:"huge,omitempty"`
}

// MultipartUpload is one whole multipart upload: Create, the parts at
// Concurrency, Complete.
type MultipartUpload struct {
	PartSize    int64   `json:"part_size"`
	Parts       int     `json:"parts"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_s"`
	PartP50Ms   float64 `json:"part_p50_ms"`
	PartP99Ms   float64 `json:"part_p99_ms"`
	Error       string  `json:"error,omitempty"`
}

// RangedRead is a read of the whole object, in RangeSize ranges at
// Concurrency (RangeSize 0: one plain GET).
type RangedRead struct {
	RangeSize   int64   `json:"range_size"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	Error       string  `json:"error,omitempty"`
}

// DiskCopy is the plain-file baseline on the data directory's disk.
type DiskCopy struct {
	Dir string `json:"dir"`
	// Write: generate and write Size bytes, then fsync.
	WriteMBPerSecond float64 `json:"write_mb_per_s"`
	// Cp: exec cp(1) of that file, then fsync the copy.
	CpMBPerSecond float64 `json:"cp_mb_per_s"`
	// Read: read the copy to its end (from the page cache, as a rule).
	ReadMBPerSecond float64 `json:"read_mb_per_s"`
}

// MultipartHuge is the --huge upload: its speed and the server's resident
// memory, which must not grow with the object.
type MultipartHuge struct {
	Size           int64   `json:"size"`
	PartSize       int64   `json:"part_size"`
	Concurrency    int     `json:"concurrency"`
	MBPerSecond    float64 `json:"mb_per_s"`
	RSSSource      string  `json:"rss_source,omitempty"`
	RSSBeforeBytes int64   `json:"rss_before_bytes"`
	RSSPeakBytes   int64   `json:"rss_peak_bytes"`
	RSSAfterBytes  int64   `json:"rss_after_bytes"`
	RSSGrowthBytes int64   `json:"rss_growth_bytes"`
	Error          string  `json:"error,omitempty"`
}

func runMultipart(ctx context.Context, cfg Config) (*Report, error) {
	size := cfg.LargeSize
	if size < multipartRangeSize {
		return nil, fmt.Errorf("multipart: --large-size %s is smaller than one range (%s)", formatSize(size), formatSize(multipartRangeSize))
	}
	rep := &Report{
		Date:     cfg.Now().UTC(),
		Machine:  currentMachine(),
		Target:   cfg.Target,
		Service:  "multipart",
		Endpoint: cfg.Endpoint,
	}
	run := &MultipartRun{Size: size}
	rep.Multipart = run
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }
	block := newPatternBlock()

	var err error
	progress("disk (before): write %s + fsync, cp + fsync, read, in %s", formatSize(size), cfg.FsyncDir)
	if run.DiskBefore, err = measureDiskCopy(ctx, cfg.FsyncDir, block, size); err != nil {
		return nil, err
	}

	tr := newTransport(max(slices.Max(cfg.Concurrency), 8))
	defer tr.CloseIdleConnections()
	client := newS3Client(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	rep.Bucket = "sluice-bench-" + randomHex(4)
	if err := client.createBucket(ctx, rep.Bucket); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", rep.Bucket, err)
	}
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	err = multipartSteps(ctx, cfg, client, rep.Bucket, block, run, progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}

	progress("disk (after)")
	if run.DiskAfter, err = measureDiskCopy(ctx, cfg.FsyncDir, block, size); err != nil {
		return nil, err
	}
	run.Disk = DiskCopy{
		Dir:              run.DiskBefore.Dir,
		WriteMBPerSecond: (run.DiskBefore.WriteMBPerSecond + run.DiskAfter.WriteMBPerSecond) / 2,
		CpMBPerSecond:    (run.DiskBefore.CpMBPerSecond + run.DiskAfter.CpMBPerSecond) / 2,
		ReadMBPerSecond:  (run.DiskBefore.ReadMBPerSecond + run.DiskAfter.ReadMBPerSecond) / 2,
	}
	return rep, nil
}

func multipartSteps(ctx context.Context, cfg Config, client *s3Client, bucket string, block []byte, run *MultipartRun, progress func(string, ...any)) error {
	size := run.Size
	kept := ""
	for _, ps := range multipartPartSizes {
		for _, c := range cfg.Concurrency {
			key := fmt.Sprintf("mp/%d-%d", ps>>20, c)
			u := multipartUpload(ctx, client, bucket, key, block, size, ps, c)
			if err := ctx.Err(); err != nil {
				return err
			}
			run.Uploads = append(run.Uploads, u)
			progress("upload %s in %s parts @%-2d %7.1f MB/s  part p50 %.1f ms  p99 %.1f ms%s", formatSize(size), formatSize(ps), c,
				u.MBPerSecond, u.PartP50Ms, u.PartP99Ms, errSuffix(u.Error))
			if u.Error != "" {
				continue
			}
			if kept == "" {
				kept = key
			} else {
				client.delete(context.WithoutCancel(ctx), bucket, key)
			}
		}
	}
	if kept == "" {
		return fmt.Errorf("multipart: no upload completed: %s", run.Uploads[0].Error)
	}
	for _, c := range cfg.Concurrency {
		r := rangedRead(ctx, client, bucket, kept, block, size, multipartRangeSize, c)
		if err := ctx.Err(); err != nil {
			return err
		}
		run.Reads = append(run.Reads, r)
		progress("ranged GET %s @%-2d %7.1f MB/s  p50 %.1f ms  p99 %.1f ms%s", formatSize(multipartRangeSize), c, r.MBPerSecond, r.P50Ms, r.P99Ms, errSuffix(r.Error))
	}
	r := rangedRead(ctx, client, bucket, kept, block, size, 0, 1)
	run.Reads = append(run.Reads, r)
	progress("whole GET @1 %7.1f MB/s%s", r.MBPerSecond, errSuffix(r.Error))
	client.delete(context.WithoutCancel(ctx), bucket, kept)

	if cfg.Huge {
		c := max(slices.Max(cfg.Concurrency), 1)
		progress("huge: multipart upload of %s in %s parts @%d, sampling RSS", formatSize(cfg.HugeSize), formatSize(multipartHugePartSize), c)
		h := &MultipartHuge{Size: cfg.HugeSize, PartSize: multipartHugePartSize, Concurrency: c, RSSSource: cfg.RSSSource}
		rss := newRSSSampler(cfg.RSS)
		h.RSSBeforeBytes = rss.read()
		rss.start()
		u := multipartUpload(ctx, client, bucket, "mp/huge", block, cfg.HugeSize, multipartHugePartSize, c)
		h.RSSPeakBytes = rss.stop()
		h.MBPerSecond, h.Error = u.MBPerSecond, u.Error
		client.delete(context.WithoutCancel(ctx), bucket, "mp/huge")
		h.RSSAfterBytes = rss.read()
		if cfg.RSS != nil {
			h.RSSGrowthBytes = max(h.RSSPeakBytes, h.RSSAfterBytes) - h.RSSBeforeBytes
		}
		run.Huge = h
		progress("huge: %.1f MB/s, RSS growth %s%s", h.MBPerSecond, formatBytes(h.RSSGrowthBytes), errSuffix(h.Error))
	}
	return nil
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "  error: " + s
}

// multipartUpload uploads size generated bytes to key in parts of
// partSize, c parts at a time, and completes the upload.
func multipartUpload(ctx context.Context, client *s3Client, bucket, key string, block []byte, size, partSize int64, c int) MultipartUpload {
	parts := int((size + partSize - 1) / partSize)
	u := MultipartUpload{PartSize: partSize, Parts: parts, Concurrency: c}
	start := time.Now()
	id, err := client.createMultipartUpload(ctx, bucket, key)
	if err != nil {
		u.Error = err.Error()
		return u
	}
	etags := make([]string, parts)
	lat := make([]time.Duration, parts)
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(c, parts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				off := int64(i) * partSize
				n := min(partSize, size-off)
				t0 := time.Now()
				etag, err := client.uploadPart(ctx, bucket, key, id, i+1, &offsetReader{block: block, off: off, end: off + n}, n)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				etags[i] = etag
			}
		}()
	}
	for i := range parts {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr == nil {
		firstErr = client.completeMultipartUpload(ctx, bucket, key, id, etags)
	}
	elapsed := time.Since(start)
	if firstErr != nil {
		client.abortMultipartUpload(context.WithoutCancel(ctx), bucket, key, id)
		u.Error = firstErr.Error()
		return u
	}
	s := summarize(lat, elapsed)
	u.Seconds, u.MBPerSecond = elapsed.Seconds(), mbPerSecond(size, elapsed)
	u.PartP50Ms, u.PartP99Ms = ms(s.P50), ms(s.P99)
	return u
}

// rangedRead reads key (size bytes) in ranges of rangeSize with c
// workers, verifying every byte against the generator; rangeSize 0 is
// one plain GET of the whole object.
func rangedRead(ctx context.Context, client *s3Client, bucket, key string, block []byte, size, rangeSize int64, c int) RangedRead {
	r := RangedRead{RangeSize: rangeSize, Concurrency: c}
	n := 1
	if rangeSize > 0 {
		n = int((size + rangeSize - 1) / rangeSize)
	}
	lat := make([]time.Duration, n)
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for i := range next {
				off, length := int64(0), size
				if rangeSize > 0 {
					off = int64(i) * rangeSize
					length = min(rangeSize, size-off)
				}
				t0 := time.Now()
				err := client.getRange(ctx, bucket, key, block, off, length, rangeSize > 0, buf)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		r.Error = firstErr.Error()
		return r
	}
	s := summarize(lat, elapsed)
	r.Requests, r.Seconds, r.MBPerSecond = n, elapsed.Seconds(), mbPerSecond(size, elapsed)
	r.P50Ms, r.P99Ms = ms(s.P50), ms(s.P99)
	return r
}

// offsetReader streams the generator's bytes [off, end): the pattern
// block with, at the start of every block-sized stretch, that stretch's
// index, so equal bytes never appear at two offsets a range could mix up.
type offsetReader struct {
	block    []byte
	off, end int64
}

func (r *offsetReader) Read(b []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	if rem := r.end - r.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	fillOffset(r.block, b, r.off)
	r.off += int64(len(b))
	return len(b), nil
}

// fillOffset writes the generator's bytes at off into b.
func fillOffset(block, b []byte, off int64) {
	bs := int64(len(block))
	for n := 0; n < len(b); {
		o := off + int64(n)
		i := o % bs
		m := copy(b[n:], block[i:])
		if i < 8 {
			var idx [8]byte
			binary.LittleEndian.PutUint64(idx[:], uint64(o/bs))
			copy(b[n:n+m], idx[i:])
		}
		n += m
	}
}

// offsetVerifier checks bytes written to it against the generator from
// off on.
type offsetVerifier struct {
	block []byte
	off   int64
	n     int64
}

func (v *offsetVerifier) Write(b []byte) (int, error) {
	bs := int64(len(v.block))
	for n := 0; n < len(b); {
		o := v.off + v.n + int64(n)
		i := o % bs
		m := min(len(b)-n, int(bs-i))
		seg := b[n : n+m]
		if i < 8 {
			var idx [8]byte
			binary.LittleEndian.PutUint64(idx[:], uint64(o/bs))
			h := min(int(8-i), m)
			if !bytes.Equal(seg[:h], idx[i:int(i)+h]) || !bytes.Equal(seg[h:], v.block[int(i)+h:int(i)+m]) {
				return n, fmt.Errorf("body differs from the generator near byte %d", o)
			}
		} else if !bytes.Equal(seg, v.block[i:int(i)+m]) {
			return n, fmt.Errorf("body differs from the generator near byte %d", o)
		}
		n += m
	}
	v.n += int64(len(b))
	return len(b), nil
}

// doHeader is do with extra request headers (Range).
func (c *s3Client) doHeader(ctx context.Context, method, path string, hdr http.Header, body io.Reader, size int64, payloadSHA string, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
		req.GetBody = nil
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadSHA)
	if err := c.signer.SignHTTP(ctx, c.creds, req, payloadSHA, "s3", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if slices.Contains(want, resp.StatusCode) {
		return resp, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	drainClose(resp.Body)
	return nil, &statusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(msg))}
}

func (c *s3Client) createMultipartUpload(ctx context.Context, bucket, key string) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, "/"+bucket+"/"+key+"?uploads", nil, 0, emptySHA256, http.StatusOK)
	if err != nil {
		return "", err
	}
	defer drainClose(resp.Body)
	var out struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil || out.UploadID == "" {
		return "", fmt.Errorf("CreateMultipartUpload %s/%s: no UploadId in the answer (%v)", bucket, key, err)
	}
	return out.UploadID, nil
}

func (c *s3Client) uploadPart(ctx context.Context, bucket, key, id string, n int, body io.Reader, size int64) (string, error) {
	path := "/" + bucket + "/" + key + "?partNumber=" + strconv.Itoa(n) + "&uploadId=" + url.QueryEscape(id)
	resp, err := c.do(ctx, http.MethodPut, path, body, size, unsignedPayload, http.StatusOK)
	if err != nil {
		return "", err
	}
	drainClose(resp.Body)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("UploadPart %d: no ETag", n)
	}
	return etag, nil
}

func (c *s3Client) completeMultipartUpload(ctx context.Context, bucket, key, id string, etags []string) error {
	var b bytes.Buffer
	b.WriteString("<CompleteMultipartUpload>")
	for i, e := range etags {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, e)
	}
	b.WriteString("</CompleteMultipartUpload>")
	body := b.Bytes()
	resp, err := c.do(ctx, http.MethodPost, "/"+bucket+"/"+key+"?uploadId="+url.QueryEscape(id), bytes.NewReader(body), int64(len(body)), sha256Hex(body), http.StatusOK)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	// S3 may answer 200 and report a failure in the body.
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		XMLName xml.Name
		ETag    string `xml:"ETag"`
	}
	if err := xml.Unmarshal(msg, &out); err != nil || out.XMLName.Local != "CompleteMultipartUploadResult" {
		return fmt.Errorf("CompleteMultipartUpload: %s", bytes.TrimSpace(msg))
	}
	if want := fmt.Sprintf(`-%d"`, len(etags)); !strings.HasSuffix(out.ETag, want) {
		return fmt.Errorf("CompleteMultipartUpload: ETag %s, want one ending in %s", out.ETag, want)
	}
	return nil
}

func (c *s3Client) abortMultipartUpload(ctx context.Context, bucket, key, id string) {
	resp, err := c.do(ctx, http.MethodDelete, "/"+bucket+"/"+key+"?uploadId="+url.QueryEscape(id), nil, 0, emptySHA256, http.StatusNoContent)
	if err == nil {
		drainClose(resp.Body)
	}
}

// getRange GETs [off, off+length) of key (the whole object when ranged is
// false) and verifies every byte and the length.
func (c *s3Client) getRange(ctx context.Context, bucket, key string, block []byte, off, length int64, ranged bool, buf []byte) error {
	hdr := http.Header{}
	want := http.StatusOK
	if ranged {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+length-1))
		want = http.StatusPartialContent
	}
	resp, err := c.doHeader(ctx, http.MethodGet, "/"+bucket+"/"+key, hdr, nil, 0, emptySHA256, want)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	v := &offsetVerifier{block: block, off: off}
	if _, err := io.CopyBuffer(v, resp.Body, buf); err != nil {
		return fmt.Errorf("GET %s bytes %d+%d: %w", key, off, length, err)
	}
	if v.n != length {
		return fmt.Errorf("GET %s bytes %d+%d: got %d bytes", key, off, length, v.n)
	}
	return nil
}

// measureDiskCopy is the plain-file baseline in dir: write size generated
// bytes and fsync, exec cp and fsync the copy, read the copy.
func measureDiskCopy(ctx context.Context, dir string, block []byte, size int64) (DiskCopy, error) {
	if dir == "" {
		dir = "."
	}
	d := DiskCopy{Dir: dir}
	src := filepath.Join(dir, "sluice-bench-cp-"+randomHex(4))
	dst := src + ".copy"
	defer os.Remove(src)
	defer os.Remove(dst)

	start := time.Now()
	f, err := os.Create(src)
	if err != nil {
		return d, fmt.Errorf("disk: %w", err)
	}
	_, err = io.CopyBuffer(f, &offsetReader{block: block, end: size}, make([]byte, 1<<20))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return d, fmt.Errorf("disk: writing %s: %w", src, err)
	}
	d.WriteMBPerSecond = mbPerSecond(size, time.Since(start))

	start = time.Now()
	if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
		return d, fmt.Errorf("disk: cp: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := syncFile(dst); err != nil {
		return d, fmt.Errorf("disk: %w", err)
	}
	d.CpMBPerSecond = mbPerSecond(size, time.Since(start))

	start = time.Now()
	g, err := os.Open(dst)
	if err != nil {
		return d, fmt.Errorf("disk: %w", err)
	}
	n, err := io.CopyBuffer(io.Discard, g, make([]byte, 1<<20))
	g.Close()
	if err != nil || n != size {
		return d, errors.Join(fmt.Errorf("disk: read %d of %d bytes of %s", n, size, dst), err)
	}
	d.ReadMBPerSecond = mbPerSecond(size, time.Since(start))
	return d, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
