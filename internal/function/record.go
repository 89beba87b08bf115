package function

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"sluice/internal/arn"
	"sluice/internal/storage"
)

// Key layout: every function key starts with the table byte 'F' (object
// uses 'b', 'o', 'v'; queue 'Q'). "Ff/<name>" holds the function record;
// names sort by bytes, which is ListFunctions' order. The record's key is
// also the owner of its code blob's reference.
const (
	tableByte      = 'F'
	functionPrefix = "Ff/"
)

func functionKey(name string) []byte { return []byte(functionPrefix + name) }

// record is a function as stored (JSON).
type record struct {
	Name          string            `json:"name"`
	Role          string            `json:"role"`
	Runtime       string            `json:"runtime"`
	Handler       string            `json:"handler"`
	Description   string            `json:"desc,omitempty"`
	Timeout       int               `json:"timeout"`
	MemorySize    int               `json:"mem"`
	Env           map[string]string `json:"env,omitempty"`
	Architectures []string          `json:"arch,omitempty"`
	Blob          storage.BlobID    `json:"blob"`
	CodeSize      int64             `json:"size"`
	CodeSha256    string            `json:"sha"`
	// UnzippedSize is the sum of the entries' sizes, checked at upload.
	UnzippedSize int64  `json:"usize"`
	Modified     int64  `json:"modified"` // unix ms, from Clock
	RevisionID   string `json:"rev"`
	// Policy is the resource policy document, "" for none.
	Policy   string            `json:"policy,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	Reserved *int              `json:"reserved,omitempty"`
	// DeadLetter is DeadLetterConfig.TargetArn, "" for none.
	DeadLetter string `json:"dlq,omitempty"`
	// Version is "" for $LATEST, else the number of a published version
	// (an immutable snapshot stored under versionKey; see version.go).
	Version string `json:"ver,omitempty"`
	// LastVersion (on $LATEST only) is the highest version published;
	// numbers are never reused, even after a version is deleted.
	LastVersion int `json:"lastver,omitempty"`
}

// version is the record's Version as Lambda names it.
func (r *record) version() string {
	if r.Version == "" {
		return Version
	}
	return r.Version
}

func newRevisionID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lastModifiedLayout is Lambda's LastModified format.
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

func (s *Service) arnOf(name string) string {
	return arn.Function(s.region, s.acct, name, "").String()
}

func (s *Service) configuration(r *record) Configuration {
	c := Configuration{
		FunctionName: r.Name, FunctionArn: s.arnOf(r.Name),
		Runtime: r.Runtime, Role: r.Role, Handler: r.Handler,
		CodeSize: r.CodeSize, Description: r.Description,
		Timeout: r.Timeout, MemorySize: r.MemorySize,
		LastModified:     time.UnixMilli(r.Modified).UTC().Format(lastModifiedLayout),
		CodeSha256:       r.CodeSha256,
		Version:          Version,
		TracingConfig:    TracingConfig{Mode: "PassThrough"},
		RevisionId:       r.RevisionID,
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    r.Architectures,
		EphemeralStorage: EphemeralStorage{Size: 512},
		LoggingConfig:    LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + r.Name},
		SnapStart:        SnapStartResponse{ApplyOn: "None", OptimizationStatus: "Off"},
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"x86_64"}
	}
	if r.DeadLetter != "" {
		c.DeadLetterConfig = &DeadLetterConfig{TargetArn: r.DeadLetter}
	}
	if r.Version != "" {
		// A published version reports its own number and qualified ARN.
		c.Version = r.Version
		c.FunctionArn = arn.Function(s.region, s.acct, r.Name, r.Version).String()
	}
	if r.Env != nil {
		vars := make(map[string]string, len(r.Env))
		for k, v := range r.Env {
			vars[k] = v
		}
		c.Environment = &Environment{Variables: vars}
	}
	return c
}

// resolve turns a FunctionName parameter (name, partial ARN or ARN, with
// an optional ":qualifier") and a Qualifier parameter into a local name.
// Another region or account, or a qualifier other than $LATEST, is
// ErrNotFound (Sluice keeps no versions or aliases); a malformed name is
// ErrValidation.
func (s *Service) resolve(fn, qualifier string) (string, error) {
	name, q, err := s.resolveQualified(fn, qualifier)
	if err != nil {
		return "", err
	}
	if q != "" && q != Version {
		return "", newErr(ErrNotFound, "Function not found: %s", arn.Function(s.region, s.acct, name, q).String())
	}
	return name, nil
}

// resolveQualified is resolve for the operations that take a qualifier
// ($LATEST, a version or an alias): it returns the name and the qualifier
// ("" when none was given) without checking that the qualifier exists.
func (s *Service) resolveQualified(fn, qualifier string) (name, q string, err error) {
	a, err := arn.ResolveFunction(fn, s.region, s.acct)
	if err != nil {
		return "", "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", fn)
	}
	if a.Region != s.region || a.AccountID != s.acct {
		return "", "", newErr(ErrNotFound, "Function not found: %s", a.ARN.String())
	}
	q = a.Qualifier
	if qualifier != "" {
		if q != "" && q != qualifier {
			return "", "", invalid("The derived qualifier from the function name does not match the specified qualifier.")
		}
		if !arn.ValidQualifier(qualifier) {
			return "", "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", qualifier)
		}
		q = qualifier
	}
	return a.Name, q, nil
}

func (s *Service) notFound(name string) error {
	return newErr(ErrNotFound, "Function not found: %s", s.arnOf(name))
}

// get reads a record inside tx.
func (s *Service) get(tx storage.ReadTx, name string) (*record, error) {
	v, err := tx.Get(functionKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, s.notFound(name)
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("function: decode record %s: %w", name, err)
	}
	return &r, nil
}

// recordCache keeps the decoded record of each stored function and
// version record, keyed by its storage key and checked against the stored
// bytes: a warm Invoke still reads its record in a snapshot (so an update,
// a delete or a new version is seen by the next Invoke exactly as
// before), but decodes it again only when its bytes changed. There is
// nothing to invalidate: a stale entry never matches the bytes read.
// Records it returns are shared: their readers must not modify them
// (the Invoke path only reads; writers decode their own with get).
type recordCache struct {
	mu sync.Mutex
	m  map[string]cachedRecord
}

type cachedRecord struct {
	raw []byte
	r   *record
}

// maxCachedRecords bounds the cache; when full it starts over (deleted
// functions' entries would otherwise stay forever).
const maxCachedRecords = 4096

func (c *recordCache) decode(key, v []byte) (*record, error) {
	c.mu.Lock()
	e, ok := c.m[string(key)]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, v) {
		return e.r, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedRecords {
		c.m = map[string]cachedRecord{}
	}
	c.m[string(key)] = cachedRecord{raw: bytes.Clone(v), r: &r}
	c.mu.Unlock()
	return &r, nil
}

// getShared is get for readers that do not modify the record (Invoke):
// the decoded record comes from recordCache when the stored bytes are the
// same.
func (s *Service) getShared(tx storage.ReadTx, name string) (*record, error) {
	k := functionKey(name)
	v, err := tx.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, s.notFound(name)
	}
	if err != nil {
		return nil, err
	}
	r, err := s.recs.decode(k, v)
	if err != nil {
		return nil, fmt.Errorf("function: decode record %s: %w", name, err)
	}
	return r, nil
}

func put(tx storage.Tx, r *record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Set(functionKey(r.Name), v)
}

// load reads the record of name in its own snapshot.
func (s *Service) load(ctx context.Context, name string) (*record, error) {
	var r *record
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		r, err = s.get(tx, name)
		return err
	})
	return r, err
}

// modify runs fn on the record of name in a transaction and stores the
// result with a new RevisionId and LastModified (when touch). A non-empty
// revision must equal the stored RevisionId (PreconditionFailedException).
func (s *Service) modify(ctx context.Context, name, revision string, touch bool, fn func(tx storage.Tx, r *record) error) (*record, error) {
	var out *record
	now := s.clock.Now().UnixMilli()
	rev := newRevisionID()
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := s.get(tx, name)
		if err != nil {
			return err
		}
		if revision != "" && revision != r.RevisionID {
			return newErr(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		r.RevisionID = rev
		if touch {
			r.Modified = now
		}
		out = r
		return put(tx, r)
	})
	return out, err
}
