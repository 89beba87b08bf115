package bench

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The generator is offset-keyed: any stretch read back at another offset
// fails verification, and bytes read at their own offset pass, however
// the reads are split.
func TestOffsetGenerator(t *testing.T) {
	block := newPatternBlock()
	const size = 3*patternBlockSize + 123
	all, err := io.ReadAll(&offsetReader{block: block, end: size})
	if err != nil || len(all) != size {
		t.Fatalf("read %d bytes, %v; want %d", len(all), err, size)
	}
	for _, off := range []int64{0, 5, 8, patternBlockSize - 3, patternBlockSize, 2*patternBlockSize + 7} {
		part := make([]byte, size-off)
		fillOffset(block, part, off)
		if !bytes.Equal(part, all[off:]) {
			t.Fatalf("fillOffset at %d differs from the stream", off)
		}
		v := &offsetVerifier{block: block, off: off}
		for p := part; len(p) > 0; p = p[min(len(p), 1000):] {
			if _, err := v.Write(p[:min(len(p), 1000)]); err != nil {
				t.Fatalf("verify own bytes at %d: %v", off, err)
			}
		}
	}
	// Block 1 and block 2 differ only in their index: returning one for
	// the other (a misplaced part or range) is caught.
	v := &offsetVerifier{block: block, off: 2 * patternBlockSize}
	if _, err := v.Write(all[patternBlockSize : 2*patternBlockSize]); err == nil {
		t.Fatal("block 1's bytes verified as block 2's")
	}
	bad := bytes.Clone(all[100:5000])
	bad[4000] ^= 1
	if _, err := (&offsetVerifier{block: block, off: 100}).Write(bad); err == nil {
		t.Fatal("a flipped byte verified")
	}
}

func TestParseFlagsMultipart(t *testing.T) {
	o, err := ParseFlags([]string{"--service", "multipart"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.LargeSize != 1<<30 || len(o.Concurrency) != 1 || o.Concurrency[0] != 8 {
		t.Errorf("defaults: size %d, concurrency %v; want 1 GiB and [8]", o.LargeSize, o.Concurrency)
	}
	o, err = ParseFlags([]string{"--service", "multipart", "--large-size", "16MiB", "--concurrency", "1,4"}, io.Discard)
	if err != nil || o.LargeSize != 16<<20 || len(o.Concurrency) != 2 {
		t.Errorf("explicit flags: size %d, concurrency %v, %v", o.LargeSize, o.Concurrency, err)
	}
}

// TestMultipartRunAgainstSluice runs the multipart steps, small, against
// the real server: every upload and read succeeds (each byte verified by
// the tool), the report has every row, and an object uploaded by the
// tool's multipart client reads back through aws-sdk-go-v2 as generated.
func TestMultipartRunAgainstSluice(t *testing.T) {
	srv, dir := runSluice(t)
	ctx := context.Background()
	root := srv.RootCredentials()
	cfg := tinyConfig(t, srv.URL(), root.SecretAccessKey)
	cfg.AccessKey, cfg.Service, cfg.Target = root.AccessKeyID, "multipart", "in-process sluice"
	cfg.LargeSize = 20<<20 + 5 // three 8 MiB parts, the last short; three ranges
	cfg.HugeSize = 9 << 20
	cfg.FsyncDir = dir
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	m := rep.Multipart
	if len(m.Uploads) != 4 || len(m.Reads) != 3 || m.Huge == nil {
		t.Fatalf("rows: %d uploads, %d reads, huge %v; want 4, 3 and one", len(m.Uploads), len(m.Reads), m.Huge != nil)
	}
	for _, u := range m.Uploads {
		wantParts := int((cfg.LargeSize + u.PartSize - 1) / u.PartSize)
		if u.Error != "" || u.MBPerSecond <= 0 || u.Parts != wantParts {
			t.Errorf("upload %+v: want no error, MB/s > 0, %d parts", u, wantParts)
		}
	}
	for _, r := range m.Reads {
		if r.Error != "" || r.MBPerSecond <= 0 {
			t.Errorf("read %+v: want no error and MB/s > 0", r)
		}
	}
	if r := m.Reads[0]; r.Requests != 3 {
		t.Errorf("ranged read of %d bytes in 8 MiB: %d GETs, want 3", cfg.LargeSize, r.Requests)
	}
	if h := m.Huge; h.Error != "" || h.RSSPeakBytes <= 0 {
		t.Errorf("huge %+v: want no error and an RSS reading", h)
	}
	for _, d := range []DiskCopy{m.DiskBefore, m.DiskAfter} {
		if d.WriteMBPerSecond <= 0 || d.CpMBPerSecond <= 0 || d.ReadMBPerSecond <= 0 {
			t.Errorf("disk %+v: want every figure > 0", d)
		}
	}
	if !strings.Contains(text.String(), "cp + fsync") || !strings.Contains(text.String(), "ranged") {
		t.Errorf("text report lacks the cp or ranged rows")
	}

	// The tool's own client against an SDK reader: the multipart object
	// is the generator's bytes.
	tr := newTransport(2)
	defer tr.CloseIdleConnections()
	client := newS3Client(srv.URL(), root.AccessKeyID, root.SecretAccessKey, "us-east-1", tr)
	block := newPatternBlock()
	if err := client.createBucket(ctx, "mpcheck"); err != nil {
		t.Fatal(err)
	}
	const size = 9<<20 + 77
	if u := multipartUpload(ctx, client, "mpcheck", "k", block, size, 8<<20, 2); u.Error != "" {
		t.Fatal(u.Error)
	}
	sdk := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
	})
	out, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpcheck"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	want := make([]byte, size)
	fillOffset(block, want, 0)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("SDK read %d bytes (%v), differ from the %d generated", len(got), err, size)
	}
	if etag := aws.ToString(out.ETag); !strings.HasSuffix(etag, `-2"`) {
		t.Errorf("ETag %s, want a 2-part multipart ETag", etag)
	}
}
