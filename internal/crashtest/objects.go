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
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"sluice/internal/object"
)

// ObjectClient is how the object invariant reaches the store: through S3
// (a process target) or object.Service (the in-process target).
type ObjectClient interface {
	Put(ctx context.Context, key string, body []byte) error
	Delete(ctx context.Context, key string) error
	// Get returns the object's bytes, or found false when there is no such
	// key. Any other failure (a record whose blob is missing, a read
	// error) is an error.
	Get(ctx context.Context, key string) (body []byte, found bool, err error)
	// List returns every key of the bucket with its listed size.
	List(ctx context.Context) (map[string]int64, error)
}

// Objects is the S3 object invariant: concurrent PUTs (inline and blob
// sizes), overwrites and DELETEs over a small key space; after a crash every
// acknowledged write is readable with its exact bytes, every acknowledged
// delete stays deleted, nothing torn is visible, and the listing agrees with
// the reads.
type Objects struct {
	Bucket  string
	Keys    int // size of the key space (default 12)
	Workers int // concurrent clients (default 6)
	// MaxSize is the largest body (default 256 KiB); half the PUTs are at
	// most SmallSize bytes (default object.DefaultInlineLimit), so both
	// the inline and the blob paths are hit.
	MaxSize   int
	SmallSize int

	once  sync.Once
	model *Model
}

func (o *Objects) init() {
	o.once.Do(func() {
		if o.Keys == 0 {
			o.Keys = 12
		}
		if o.Workers == 0 {
			o.Workers = 6
		}
		if o.MaxSize == 0 {
			o.MaxSize = 256 << 10
		}
		if o.SmallSize == 0 {
			o.SmallSize = object.DefaultInlineLimit
		}
		o.model = NewModel()
	})
}

// Model returns the invariant's model (for tests of the harness itself).
func (o *Objects) Model() *Model { o.init(); return o.model }

func (o *Objects) Name() string { return "objects" }

func (o *Objects) key(i int) string {
	// A few keys share a prefix, so listing crosses "directories".
	if i%3 == 0 {
		return fmt.Sprintf("dir/k%02d", i)
	}
	return fmt.Sprintf("k%02d", i)
}

func (o *Objects) Setup(ctx context.Context, env *Env) error {
	o.init()
	for i := 0; i < o.Keys; i++ {
		o.model.Confirm(o.key(i), State{})
	}
	if env.Objects != nil {
		return env.Objects.CreateBucket(ctx, o.Bucket, "crashtest")
	}
	c := s3.NewFromConfig(env.AWS, func(opt *s3.Options) { opt.UsePathStyle = true })
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)})
	return err
}

func (o *Objects) client(env *Env) ObjectClient {
	if env.Objects != nil {
		return serviceClient{svc: env.Objects, bucket: o.Bucket}
	}
	return s3Client{c: s3.NewFromConfig(env.AWS, func(opt *s3.Options) { opt.UsePathStyle = true }), bucket: o.Bucket}
}

func (o *Objects) Workload(ctx context.Context, env *Env) error {
	o.init()
	c := o.client(env)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.work(ctx, env, c, env.Rand(uint64(w)+1))
		}()
	}
	wg.Wait()
	return nil
}

// work issues operations until ctx ends. Every failure is recorded as an
// unacknowledged operation: after a crash, connection errors are expected.
func (o *Objects) work(ctx context.Context, env *Env, c ObjectClient, r *rand.Rand) {
	// Bounded: a worker stops after this many operations even if the
	// crash never comes (the target's crash is time-bounded anyway).
	for n := 0; n < 100000 && ctx.Err() == nil; n++ {
		op := &Op{ID: o.model.NextID(), Key: o.key(r.IntN(o.Keys))}
		var body []byte
		if r.IntN(5) == 0 {
			op.Kind = OpDelete
		} else {
			size := minBodyLen + r.IntN(o.SmallSize-minBodyLen+1)
			if r.IntN(2) == 0 {
				size = o.SmallSize + 1 + r.IntN(o.MaxSize-o.SmallSize)
			}
			body = MakeBody(op.ID, op.Key, size)
			op.Size, op.Sum = len(body), sha256.Sum256(body)
		}
		op.Start = env.Ticks.Next()
		o.model.Begin(op)
		var err error
		if op.Kind == OpDelete {
			err = c.Delete(ctx, op.Key)
		} else {
			err = c.Put(ctx, op.Key, body)
		}
		o.model.End(op, env.Ticks.Next(), err)
	}
}

func (o *Objects) Check(ctx context.Context, env *Env) error {
	o.init()
	c := o.client(env)
	listed, err := c.List(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	acked, unacked := o.model.Counts(env.CrashTick)
	failures := o.model.Failures(env.CrashTick, 3)
	var errs []error
	known := map[string]bool{}
	present := 0
	for _, key := range o.model.Keys() {
		known[key] = true
		body, found, err := c.Get(ctx, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("get %q: %w; allowed: %v", key, err, o.model.Candidates(key, env.CrashTick)))
			continue
		}
		got, err := o.model.Judge(key, env.CrashTick, found, body)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		size, isListed := listed[key]
		switch {
		case found && !isListed:
			errs = append(errs, fmt.Errorf("key %q is readable (%s) but not listed", key, got))
		case !found && isListed:
			errs = append(errs, fmt.Errorf("key %q is listed (%d bytes) but reads as absent", key, size))
		case found && size != int64(len(body)):
			errs = append(errs, fmt.Errorf("key %q is listed with %d bytes but reads %d", key, size, len(body)))
		}
		o.model.Confirm(key, got)
		if got.Present {
			present++
		}
	}
	for key := range listed {
		if !known[key] {
			errs = append(errs, fmt.Errorf("listed key %q was never written", key))
		}
	}
	env.Logf("objects: iteration %d: %d ops acknowledged, %d not; %d of %d keys present", env.Iteration, acked, unacked, present, len(known))
	for _, f := range failures {
		env.Logf("objects: iteration %d: an unacknowledged op failed with: %s", env.Iteration, f)
	}
	return errors.Join(errs...)
}

// s3Client is ObjectClient over aws-sdk-go-v2.
type s3Client struct {
	c      *s3.Client
	bucket string
}

func (c s3Client) Put(ctx context.Context, key string, body []byte) error {
	_, err := c.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	return err
}

func (c s3Client) Delete(ctx context.Context, key string) error {
	_, err := c.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	return err
}

func (c s3Client) Get(ctx context.Context, key string) ([]byte, bool, error) {
	out, err := c.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, false, fmt.Errorf("read body (%d bytes read): %w", len(b), err)
	}
	if out.ContentLength != nil && *out.ContentLength != int64(len(b)) {
		return nil, false, fmt.Errorf("Content-Length %d, body %d bytes", *out.ContentLength, len(b))
	}
	return b, true, nil
}

func (c s3Client) List(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(c.c, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), MaxKeys: aws.Int32(5)})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 10000 {
			return nil, errors.New("listing does not end")
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if _, dup := out[aws.ToString(o.Key)]; dup {
				return nil, fmt.Errorf("key %q listed twice", aws.ToString(o.Key))
			}
			out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return out, nil
}

// serviceClient is ObjectClient over object.Service.
type serviceClient struct {
	svc    *object.Service
	bucket string
}

func (c serviceClient) Put(ctx context.Context, key string, body []byte) error {
	_, err := c.svc.PutObject(ctx, object.PutInput{Bucket: c.bucket, Key: key, Body: bytes.NewReader(body), Size: int64(len(body))})
	return err
}

func (c serviceClient) Delete(ctx context.Context, key string) error {
	return c.svc.DeleteObject(ctx, c.bucket, key)
}

func (c serviceClient) Get(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := c.svc.GetObject(ctx, object.GetInput{Bucket: c.bucket, Key: key, Length: -1})
	if errors.Is(err, object.ErrNoSuchKey) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, false, fmt.Errorf("read body (%d of %d bytes read): %w", len(b), r.Size, err)
	}
	if int64(len(b)) != r.Size {
		return nil, false, fmt.Errorf("record says %d bytes, body has %d", r.Size, len(b))
	}
	return b, true, nil
}

func (c serviceClient) List(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			return nil, errors.New("listing does not end")
		}
		page, err := c.svc.ListObjects(ctx, object.ListInput{Bucket: c.bucket, After: after, MaxKeys: 5})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Objects {
			out[o.Key] = o.Size
		}
		if !page.IsTruncated {
			return out, nil
		}
		after = page.Next
	}
}
