package crashtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Multipart is the invariant "a completed multipart upload is whole or
// absent" (issue 4). Workers upload objects of two parts (a 5 MiB part and
// a short last one) to keys never used before, each under a fresh key, and
// complete them; the server is killed mid-part or mid-complete. After the
// restart every key whose Complete was acknowledged before the crash must
// read back byte for byte, with the multipart ETag "-2"; every other key
// must be absent or, if its Complete ran, byte for byte whole: never a
// prefix, a part, or another key's bytes.
type Multipart struct {
	Bucket  string
	Workers int // 0 means 2

	mu      sync.Mutex
	next    int
	pending map[string]mpOp // keys not yet confirmed by a Check
}

type mpOp struct {
	acked bool
	tick  uint64 // of the acknowledgement
}

// Name implements Invariant.
func (m *Multipart) Name() string { return "multipart" }

func (m *Multipart) client(env *Env) *s3.Client {
	return s3.NewFromConfig(env.AWS, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(env.Endpoint), true
	})
}

// Setup implements Invariant.
func (m *Multipart) Setup(ctx context.Context, env *Env) error {
	m.pending = map[string]mpOp{}
	_, err := m.client(env).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(m.Bucket)})
	return err
}

const mpFirstPart = 5 << 20

// mpBody is the deterministic content of key: its parts are derived from
// the key, so a check can tell its bytes from any other key's.
func mpBody(key string) (first, last []byte) {
	seed := sha256.Sum256([]byte(key))
	r := rand.New(rand.NewChaCha8(seed))
	first = make([]byte, mpFirstPart)
	for i := range first {
		first[i] = byte(r.Uint32())
	}
	last = append([]byte("last part of "+key+" "), make([]byte, 100)...)
	return first, last
}

// Workload implements Invariant.
func (m *Multipart) Workload(ctx context.Context, env *Env) error {
	c := m.client(env)
	workers := m.Workers
	if workers == 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				m.mu.Lock()
				m.next++
				key := fmt.Sprintf("mp/%d/%d", env.Iteration, m.next)
				m.pending[key] = mpOp{}
				m.mu.Unlock()
				if m.upload(ctx, c, key) {
					tick := env.Ticks.Next()
					m.mu.Lock()
					m.pending[key] = mpOp{acked: true, tick: tick}
					m.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

// upload runs one multipart upload and reports whether its Complete was
// acknowledged.
func (m *Multipart) upload(ctx context.Context, c *s3.Client, key string) bool {
	first, last := mpBody(key)
	b, k := aws.String(m.Bucket), aws.String(key)
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if err != nil {
		return false
	}
	var parts []s3types.CompletedPart
	for i, p := range [][]byte{first, last} {
		n := aws.Int32(int32(i + 1))
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: n, Body: bytes.NewReader(p)})
		if err != nil {
			return false
		}
		parts = append(parts, s3types.CompletedPart{PartNumber: n, ETag: out.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	return err == nil
}

// Check implements Invariant.
func (m *Multipart) Check(ctx context.Context, env *Env) error {
	c := m.client(env)
	m.mu.Lock()
	defer m.mu.Unlock()
	var acked, whole, absent int
	defer func() {
		if env.Logf != nil {
			env.Logf("multipart: iteration %d: %d completes acknowledged, %d objects whole, %d absent", env.Iteration, acked, whole, absent)
		}
	}()
	for key, op := range m.pending {
		if op.acked {
			acked++
		}
		mustExist := op.acked && op.tick < env.CrashTick
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(key)})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			if mustExist {
				return fmt.Errorf("key %q: Complete acknowledged at tick %d before the crash at %d, object absent (iteration %d, seed %d)",
					key, op.tick, env.CrashTick, env.Iteration, env.Seed)
			}
			absent++
			delete(m.pending, key)
			continue
		}
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		body, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			return fmt.Errorf("key %q: read: %w", key, err)
		}
		first, last := mpBody(key)
		if !bytes.Equal(body, append(first, last...)) {
			return fmt.Errorf("key %q: torn multipart object: %d bytes, want %d (acknowledged %v; iteration %d, seed %d)",
				key, len(body), len(first)+len(last), op.acked, env.Iteration, env.Seed)
		}
		if etag := aws.ToString(got.ETag); len(etag) < 4 || etag[len(etag)-3:] != `-2"` {
			return fmt.Errorf("key %q: ETag %s is not a 2-part multipart ETag", key, etag)
		}
		whole++
		delete(m.pending, key)
	}
	return nil
}
