package object

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/storage"
)

// Domain errors. s3api maps each to its AWS error in one table.
var (
	ErrNoSuchBucket            = errors.New("no such bucket")
	ErrBucketAlreadyOwnedByYou = errors.New("bucket already owned by you")
	ErrBucketNotEmpty          = errors.New("bucket not empty")
	ErrInvalidBucketName       = errors.New("invalid bucket name")
	ErrNoSuchKey               = errors.New("no such key")
	ErrKeyTooLong              = errors.New("key too long")
	ErrInvalidKey              = errors.New("invalid key")
	// ErrBadDigest: the body does not match the Content-MD5 the client sent.
	ErrBadDigest = errors.New("content-md5 mismatch")
	// ErrIncompleteBody: the body ended before the declared size.
	ErrIncompleteBody = errors.New("incomplete body")
	// ErrEntityTooLarge: the body is longer than the declared size or
	// than the largest object S3 accepts in one PUT (5 GiB).
	ErrEntityTooLarge = errors.New("entity too large")
	// ErrInvalidChecksumAlgorithm: PutInput names an algorithm that is not
	// one of S3's five (s3api normally refuses it first, with
	// ParseChecksumAlgorithm).
	ErrInvalidChecksumAlgorithm = errors.New("invalid checksum algorithm")
)

// ChecksumMismatchError: the body does not match the x-amz-checksum-* value.
type ChecksumMismatchError struct{ Algorithm ChecksumAlgorithm }

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("%s checksum mismatch", e.Algorithm)
}

// ChecksumAlgorithm is one of S3's flexible checksum algorithms.
type ChecksumAlgorithm string

const (
	CRC32     ChecksumAlgorithm = "CRC32"
	CRC32C    ChecksumAlgorithm = "CRC32C"
	CRC64NVME ChecksumAlgorithm = "CRC64NVME"
	SHA1      ChecksumAlgorithm = "SHA1"
	SHA256    ChecksumAlgorithm = "SHA256"
)

// Checksum is an algorithm and its base64 value, as S3 writes it in
// x-amz-checksum-<algorithm>.
type Checksum struct {
	Algorithm ChecksumAlgorithm
	Value     string
	// Type is "" for a checksum of the whole object's bytes, or a
	// multipart object's ChecksumTypeComposite ("<value>-N") or
	// ChecksumTypeFullObject (multipart.go).
	Type string `json:",omitempty"`
}

// MaxKeyLength is S3's limit on an object key, in UTF-8 bytes.
const MaxKeyLength = 1024

// MaxPutSize is the largest object a single PUT may carry (5 GiB).
const MaxPutSize = 5 << 30

// NullVersion is the version id of an object written while versioning has
// never been enabled (or is suspended).
const NullVersion = "null"

// Bucket is a bucket's record.
type Bucket struct {
	Name    string
	Created time.Time
	Owner   string // the owner's canonical id
}

// Meta is what the client says about an object when it writes it.
type Meta struct {
	ContentType        string // "" stores binary/octet-stream, as S3 does
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string            // kept verbatim, as S3 does
	User               map[string]string // x-amz-meta-*, names lower-case without the prefix
}

// Object is an object's record (the latest version of a key).
type Object struct {
	Bucket       string
	Key          string
	VersionID    string // NullVersion until versioning exists
	Size         int64
	ETag         string // hex MD5 of the bytes, no quotes
	LastModified time.Time
	Meta         Meta
	Checksum     *Checksum // set when the client sent one
	StorageClass string    // always STANDARD for now
	Tags         []Tag     // the object's tag set, sorted by key (tagging.go)
}

// Service holds buckets and objects.
type Service struct {
	store       storage.Store
	blobs       storage.Blobs
	clock       clock.Clock
	log         *slog.Logger
	inlineLimit int
	failpoint   func(name string)
	events      Publisher
	// buckets remembers buckets seen to exist, so that PutObject's early
	// NoSuchBucket check can skip a read (bucket.go, bucketHints).
	buckets bucketHints
	// lastUploadNanos keeps upload ids strictly increasing in time order
	// within the process, even when the clock repeats a reading.
	lastUploadNanos atomic.Int64
	// readBufs holds *[]byte buffers of up to InlineLimit+1 bytes, into
	// which PutObject reads the start of a body: one per PUT otherwise.
	readBufs sync.Pool
}

// Config is what New needs.
type Config struct {
	Store storage.Store
	Blobs storage.Blobs
	Clock clock.Clock
	// InlineLimit is the largest object kept inside its metadata record
	// (one commit, no blob file). Zero means DefaultInlineLimit; a negative
	// value inlines only empty objects (tests of the blob path).
	InlineLimit int
	// Logger receives what cannot be returned (a failed clean-up of an
	// unreferenced blob). Nil discards.
	Logger *slog.Logger
	// Failpoint, when set, is called with one of the Failpoint* names at
	// the narrow windows of a write, so that crash tests
	// (internal/crashtest) can take a crash image of the filesystem there.
	// Nil in production; it must not call back into the Service.
	Failpoint func(name string)
	// Events, when set, is told of every change inside the transaction
	// that commits it, so that the change's event records commit with it
	// (DESIGN.md, Events). Nil: no events (tests of the object domain
	// alone). The origin of a change is in ctx (event.OriginFrom).
	Events Publisher
}

// Publisher receives object changes inside their transaction. Publish
// writes only through tx and may run again when tx is retried; an error
// aborts the change (no change without its events).
type Publisher interface {
	Publish(ctx context.Context, tx storage.Tx, c event.Change) error
}

// Failpoint names passed to Config.Failpoint.
const (
	// FailpointPutBeforeCommit: the body is read and checked (and, for a
	// blob, durable under its id), the record is not committed yet.
	FailpointPutBeforeCommit = "object.put.before-commit"
	// FailpointPutCommitted: the record's commit returned (it is durable),
	// PutObject has not returned yet.
	FailpointPutCommitted = "object.put.committed"
)

// DefaultInlineLimit keeps small objects in their record: one durable
// commit instead of a blob write, a blob sync, a directory sync and a commit.
const DefaultInlineLimit = 8 << 10

// New returns a Service over cfg's storage.
func New(cfg Config) *Service {
	switch {
	case cfg.InlineLimit == 0:
		cfg.InlineLimit = DefaultInlineLimit
	case cfg.InlineLimit < 0:
		cfg.InlineLimit = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: cfg.Store, blobs: cfg.Blobs, clock: cfg.Clock, log: cfg.Logger, inlineLimit: cfg.InlineLimit, failpoint: cfg.Failpoint, events: cfg.Events}
	s.readBufs.New = func() any {
		b := make([]byte, s.inlineLimit+1)
		return &b
	}
	return s
}

// publish reports a change to the notification path inside its
// transaction; without a Publisher it does nothing.
func (s *Service) publish(ctx context.Context, tx storage.Tx, c event.Change) error {
	if s.events == nil {
		return nil
	}
	return s.events.Publish(ctx, tx, c)
}

// fail calls the configured failpoint, if any.
func (s *Service) fail(name string) {
	if s.failpoint != nil {
		s.failpoint(name)
	}
}

// PutInput is a PutObject request.
type PutInput struct {
	Bucket string
	Key    string
	Body   io.Reader
	// Size is the declared length; -1 when unknown. A body shorter than Size
	// is ErrIncompleteBody, a longer one ErrEntityTooLarge.
	Size int64
	Meta Meta
	// ContentMD5 is the decoded Content-MD5 header, if sent (else nil).
	ContentMD5 []byte
	// Checksum is the x-amz-checksum-* value to verify, if sent. When only
	// ChecksumAlgorithm is set, the checksum is computed and stored.
	Checksum          *Checksum
	ChecksumAlgorithm ChecksumAlgorithm
	// TrailingChecksum, when set, returns the checksum to verify that is
	// only known once the body has been read to EOF (an aws-chunked
	// trailer); it is called after EOF, and only then. Set
	// ChecksumAlgorithm to its algorithm so that the body is hashed. A
	// nil result means there is nothing to verify.
	TrailingChecksum func() *Checksum
	// Event is the event the write reports (s.publish): "" means
	// event.ObjectCreatedPut; a browser form upload (POST Object) sets
	// event.ObjectCreatedPost, as S3 reports it.
	Event event.Name
	// Tags is the tag set to store with the object (x-amz-tagging),
	// already checked with ValidateTags.
	Tags []Tag
	// Condition is checked against the current object inside the commit
	// (If-Match, If-None-Match: conditional writes).
	Condition WriteCondition
}

// eventName is the event a PutObject with in reports.
func (in PutInput) eventName() event.Name {
	if in.Event == "" {
		return event.ObjectCreatedPut
	}
	return in.Event
}

// GetInput selects an object and, optionally, a byte range of it.
type GetInput struct {
	Bucket string
	Key    string
	// Offset and Length select a byte range, already resolved against the
	// object's size by the caller (s3api parses Range). Length -1 reads to
	// the end. The zero Offset with Length -1 reads the whole object.
	Offset int64
	Length int64
}

// Reader is an object opened for reading: its record and its bytes.
type Reader struct {
	Object
	io.ReadCloser
}

// ListInput is one page request of ListObjects (v1 and v2 share it).
type ListInput struct {
	Bucket    string
	Prefix    string
	Delimiter string
	// After lists only keys greater than After; when After lies under a
	// common prefix already returned (it starts with Prefix + ... +
	// Delimiter), the whole common prefix is skipped, so common prefixes
	// never repeat across pages.
	After   string
	MaxKeys int // 0 returns an empty, untruncated page
}

// ListPage is one page of a listing, in S3's order (UTF-8 bytes).
type ListPage struct {
	Objects        []Object
	CommonPrefixes []string
	IsTruncated    bool
	// Next is the last key or common prefix on the page: the After of the
	// next page (ListObjects v1's NextMarker, v2's continuation token).
	Next string
}

// ListBucketsInput is one page request of ListBuckets.
type ListBucketsInput struct {
	Prefix     string
	After      string // bucket name the page starts after
	MaxBuckets int    // 0 means 10000, S3's maximum
}

// ListBucketsPage is one page of buckets, sorted by name.
type ListBucketsPage struct {
	Buckets     []Bucket
	IsTruncated bool
	Next        string // the last name on the page, when truncated
}
