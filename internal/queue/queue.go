package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/internal/arn"
	"sluice/internal/clock"
	"sluice/internal/storage"
)

// Store is what the queue service needs of the storage engine: the
// key-value store with its transactions (queue records, Enqueue, Ack,
// Extend, Move, Purge in a Tx) and the lease side of the queue primitive.
type Store interface {
	storage.Store
	storage.Queues
}

// Config is what New needs.
type Config struct {
	Store     Store
	Clock     clock.Clock // nil means the wall clock
	Logger    *slog.Logger
	Region    string // default us-east-1
	AccountID string // default 000000000000
}

// Service is the queue domain: queue records, messages, leases, redrive
// and message move tasks. One Service serves concurrent callers.
type Service struct {
	store  Store
	clock  clock.Clock
	log    *slog.Logger
	region string
	acct   string

	// done is closed by Close: long polls end (empty) and move tasks stop.
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu    sync.Mutex
	tasks map[string]*moveTask // by task handle; guarded by mu

	// policies caches parsed queue policies for Allows, loaded the
	// records load returns (policycache.go); each has its own lock,
	// never held with mu or another.
	policies genCache[cachedPolicy]
	loaded   genCache[*record]

	// records caches decoded queue records for the message paths
	// (cachedRecord); it has its own lock, never held with mu.
	records recordCache
}

// New returns the queue service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	return &Service{
		store: cfg.Store, clock: cfg.Clock, log: cfg.Logger,
		region: cfg.Region, acct: cfg.AccountID,
		done: make(chan struct{}), tasks: map[string]*moveTask{},
	}
}

// Close ends every long poll (they return no messages) and stops the
// message move tasks, waiting for them. It is idempotent; the server
// calls it when shutdown starts, before storage closes.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// AccountID is the account every queue belongs to.
func (s *Service) AccountID() string { return s.acct }

// Region is the region every queue lives in.
func (s *Service) Region() string { return s.region }

// ARN returns the ARN of the queue called name.
func (s *Service) ARN(name string) string {
	return arn.ARN{Partition: arn.Partition, Service: "sqs", Region: s.region, AccountID: s.acct, Resource: name}.String()
}

// NameFromARN returns the name of the local queue an ARN names, or
// ErrNoSuchQueue when it names another region or account, or no queue.
func (s *Service) NameFromARN(queueARN string) (string, error) {
	a, err := arn.Parse(queueARN)
	if err != nil || a.Service != "sqs" || a.Region != s.region || a.AccountID != s.acct || !ValidName(a.Resource) {
		return "", ErrNoSuchQueue
	}
	return a.Resource, nil
}

// ValidName reports whether name is a valid standard queue name: 1 to 80
// characters of [A-Za-z0-9_-] (SQS CreateQueue).
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 80 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Key layout: every queue key starts with the table byte 'Q' (object uses
// 'b', 'o', 'v'). "Qq/<name>" holds the queue record; names sort by bytes,
// which is ListQueues' order.
const (
	tableByte   = 'Q'
	queuePrefix = "Qq/"
)

func queueKey(name string) []byte { return []byte(queuePrefix + name) }

// record is a queue as stored (JSON).
type record struct {
	Name string `json:"name"`
	// Incarnation makes the storage queue of a queue that was deleted and
	// created again a different one, so the new queue never sees the old
	// one's messages.
	Incarnation string            `json:"inc"`
	Created     int64             `json:"created"`  // unix seconds
	Modified    int64             `json:"modified"` // unix seconds
	Attributes  map[string]string `json:"attrs"`
	Tags        map[string]string `json:"tags,omitempty"`
	LastPurge   int64             `json:"lastPurge,omitempty"` // unix ms
}

// storageName is the queue of the storage primitive holding the
// messages.
func (r *record) storageName() string { return "sqs/" + r.Name + "/" + r.Incarnation }

func (r *record) intAttr(name string) int {
	if v, ok := r.Attributes[name]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return intBounds[name].def
}

func (r *record) redrive() (RedrivePolicy, bool) {
	v := r.Attributes[AttrRedrivePolicy]
	if v == "" {
		return RedrivePolicy{}, false
	}
	rp, err := parseRedrivePolicy(v)
	return rp, err == nil
}

func getRecord(tx storage.ReadTx, name string) (*record, error) {
	raw, err := tx.Get(queueKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoSuchQueue
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("queue %s: damaged record: %w", name, err)
	}
	return &r, nil
}

func putRecord(tx storage.Tx, r *record) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Set(queueKey(r.Name), raw)
}

// recordCache maps a queue name to its record decoded from the bytes
// last read. Every send and receive reads the queue record, and decoding
// its JSON was a sixth of SendMessage's CPU. The read itself stays in
// the caller's transaction (so a send still conflicts with a racing
// DeleteQueue or SetQueueAttributes); only the decode is skipped, and
// only when the bytes read equal the bytes the cached record was decoded
// from, so the cache needs no invalidation to be right: a changed record
// has different bytes (Modified, Incarnation or an attribute differs)
// and is decoded again.
type recordCache struct {
	mu sync.Mutex
	m  map[string]cachedRecord
}

type cachedRecord struct {
	raw []byte
	r   *record
}

// recordCacheMax bounds the cache; when full it starts over (a server
// with more queues than this decodes as before).
const recordCacheMax = 4096

// cachedRecord is getRecord for callers that only read the record: the
// returned record may be shared with other callers and must not be
// changed.
func (s *Service) cachedRecord(tx storage.ReadTx, name string) (*record, error) {
	raw, err := tx.Get(queueKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoSuchQueue
	}
	if err != nil {
		return nil, err
	}
	c := &s.records
	c.mu.Lock()
	e, ok := c.m[name]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.r, nil
	}
	r := new(record)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("queue %s: damaged record: %w", name, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= recordCacheMax {
		c.m = map[string]cachedRecord{}
	}
	c.m[name] = cachedRecord{raw: bytes.Clone(raw), r: r}
	c.mu.Unlock()
	return r, nil
}

// load returns the queue record as of the latest durable commit: from
// the loaded cache (genCache: invalidated by every change of the record
// before the change returns), else read in a snapshot of its own. The
// record may be shared: callers must not change it.
func (s *Service) load(ctx context.Context, name string) (*record, error) {
	// The generation is read before the snapshot, so that a change
	// committed after it prevents the put below.
	r, gen, ok := s.loaded.get(name)
	if ok {
		return r, nil
	}
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		r, err = s.cachedRecord(tx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.loaded.put(name, gen, r)
	return r, nil
}

// newUUID returns a random (version 4) UUID, the form of SQS message ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// Create creates the queue called name with attrs and tags. When the
// queue exists, it succeeds (idempotent) if every attribute given equals
// the queue's current value, and returns *ExistsError otherwise, as SQS
// does. Errors: *ParameterError (bad name), *AttributeNameError,
// *AttributeValueError, *UnsupportedError (FIFO).
func (s *Service) Create(ctx context.Context, name string, attrs, tags map[string]string) error {
	if strings.HasSuffix(name, ".fifo") {
		return &UnsupportedError{Message: "Sluice does not support FIFO queues yet (S3 cannot send events to them)"}
	}
	if !ValidName(name) {
		return paramErr("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if len(tags) > 50 {
		return paramErr("Too many tags added for queue %s.", name)
	}
	norm := make(map[string]string, len(attrs))
	for k, v := range attrs {
		nv, err := s.normalize(k, v)
		if err != nil {
			return err
		}
		norm[k] = nv
	}
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		existing, err := getRecord(tx, name)
		if err == nil {
			for _, k := range sortedKeys(norm) {
				if current(existing, k) != norm[k] {
					return &ExistsError{Name: name, Attribute: k}
				}
			}
			return nil
		}
		if !errors.Is(err, ErrNoSuchQueue) {
			return err
		}
		now := s.clock.Now().Unix()
		r := &record{Name: name, Incarnation: newID(), Created: now, Modified: now, Attributes: defaults(), Tags: tags}
		for k, v := range norm {
			if v == "" {
				delete(r.Attributes, k)
			} else {
				r.Attributes[k] = v
			}
		}
		if err := s.checkRedrive(tx, r); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
}

// current is the value an attribute has for CreateQueue's comparison:
// the stored value, or the default when unset.
func current(r *record, name string) string {
	if v, ok := r.Attributes[name]; ok {
		return v
	}
	if b, ok := intBounds[name]; ok && name != AttrKmsDataKeyReusePeriod {
		return strconv.Itoa(b.def)
	}
	return ""
}

// checkRedrive checks r's RedrivePolicy against its dead-letter queue:
// it must exist in this account and region and allow r as a source.
func (s *Service) checkRedrive(tx storage.ReadTx, r *record) error {
	rp, ok := r.redrive()
	if !ok {
		return nil
	}
	dlqName, err := s.NameFromARN(rp.DeadLetterTargetArn)
	if err == nil {
		var dlq *record
		dlq, err = getRecord(tx, dlqName)
		if err == nil {
			if dlqName == r.Name {
				return &AttributeValueError{Name: AttrRedrivePolicy, Value: r.Attributes[AttrRedrivePolicy],
					Reason: "Dead-letter target cannot be the queue itself."}
			}
			if !allowsSource(dlq.Attributes[AttrRedriveAllowPolicy], s.ARN(r.Name)) {
				return &AttributeValueError{Name: AttrRedrivePolicy, Value: r.Attributes[AttrRedrivePolicy],
					Reason: "Dead-letter queue's RedriveAllowPolicy does not allow this source queue."}
			}
			return nil
		}
	}
	if errors.Is(err, ErrNoSuchQueue) {
		return &AttributeValueError{Name: AttrRedrivePolicy, Value: r.Attributes[AttrRedrivePolicy],
			Reason: "Dead letter target does not exist."}
	}
	return err
}

// Exists returns nil when the queue exists, else ErrNoSuchQueue
// (GetQueueUrl).
func (s *Service) Exists(ctx context.Context, name string) error {
	_, err := s.load(ctx, name)
	return err
}

// Delete deletes the queue and its messages. ErrNoSuchQueue.
func (s *Service) Delete(ctx context.Context, name string) error {
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		r, err := getRecord(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.Purge(r.storageName()); err != nil {
			return err
		}
		return tx.Delete(queueKey(name))
	})
}

// List returns up to max queue names (1..1000) that start with prefix and
// sort after after, and whether more follow.
func (s *Service) List(ctx context.Context, prefix, after string, max int) (names []string, more bool, err error) {
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		names, more = nil, false
		lower := queueKey(prefix)
		if after != "" && after >= prefix {
			lower = append(queueKey(after), 0)
		}
		it, err := tx.NewIterator(lower, prefixEnd(queueKey(prefix)))
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			if len(names) == max {
				more = true
				break
			}
			names = append(names, string(it.Key()[len(queuePrefix):]))
		}
		return it.Close()
	})
	return names, more, err
}

// prefixEnd is the first key after every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Attributes returns the named attributes ("All" for every one). Unset
// optional attributes (Policy, RedrivePolicy) are left out, as on AWS.
// *AttributeNameError for a name SQS does not know; ErrNoSuchQueue.
func (s *Service) Attributes(ctx context.Context, name string, names []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, n := range names {
		if n == "All" {
			for _, r := range readable {
				want[r] = true
			}
			continue
		}
		if !readableSet[n] {
			return nil, &AttributeNameError{Name: n}
		}
		want[n] = true
	}
	r, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var st storage.QueueStats
	if want[AttrApproximateNumberOfMessages] || want[AttrApproximateNotVisible] || want[AttrApproximateDelayed] {
		st = s.store.Stats(r.storageName())
	}
	for n := range want {
		switch n {
		case AttrQueueArn:
			out[n] = s.ARN(name)
		case AttrCreatedTimestamp:
			out[n] = strconv.FormatInt(r.Created, 10)
		case AttrLastModifiedTimestamp:
			out[n] = strconv.FormatInt(r.Modified, 10)
		case AttrApproximateNumberOfMessages:
			out[n] = strconv.Itoa(st.Visible)
		case AttrApproximateNotVisible:
			out[n] = strconv.Itoa(st.InFlight)
		case AttrApproximateDelayed:
			out[n] = strconv.Itoa(st.Delayed)
		case AttrFifoQueue, AttrContentBasedDeduplication:
			// standard queues do not report FIFO attributes
		default:
			if v, ok := r.Attributes[n]; ok && v != "" {
				out[n] = v
			}
		}
	}
	return out, nil
}

// SetAttributes changes the given attributes ("" removes Policy,
// RedrivePolicy and RedriveAllowPolicy). All or nothing: any invalid one
// and nothing changes. ErrNoSuchQueue, *AttributeNameError,
// *AttributeValueError.
func (s *Service) SetAttributes(ctx context.Context, name string, attrs map[string]string) error {
	norm := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if k == AttrFifoQueue {
			return &AttributeNameError{Name: k} // immutable after creation, as on AWS
		}
		nv, err := s.normalize(k, v)
		if err != nil {
			return err
		}
		norm[k] = nv
	}
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		r, err := getRecord(tx, name)
		if err != nil {
			return err
		}
		for k, v := range norm {
			if v == "" {
				delete(r.Attributes, k)
			} else {
				r.Attributes[k] = v
			}
		}
		if _, ok := norm[AttrRedrivePolicy]; ok {
			if err := s.checkRedrive(tx, r); err != nil {
				return err
			}
		}
		r.Modified = s.clock.Now().Unix()
		return putRecord(tx, r)
	})
}

// Tag adds or replaces tags (at most 50 per queue). ErrNoSuchQueue.
func (s *Service) Tag(ctx context.Context, name string, tags map[string]string) error {
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return paramErr("Tag keys must be between 1 and 128 characters and values at most 256 characters.")
		}
	}
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		r, err := getRecord(tx, name)
		if err != nil {
			return err
		}
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range tags {
			r.Tags[k] = v
		}
		if len(r.Tags) > 50 {
			return paramErr("Too many tags added for queue %s.", name)
		}
		return putRecord(tx, r)
	})
}

// Untag removes tags; absent keys are ignored. ErrNoSuchQueue.
func (s *Service) Untag(ctx context.Context, name string, keys []string) error {
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		r, err := getRecord(tx, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(r.Tags, k)
		}
		return putRecord(tx, r)
	})
}

// Tags returns the queue's tags. ErrNoSuchQueue.
func (s *Service) Tags(ctx context.Context, name string) (map[string]string, error) {
	r, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(r.Tags), nil // r may be shared (cachedRecord)
}

// Purge deletes every message of the queue. A second purge within 60
// seconds of the last is refused with ErrPurgeInProgress, as on AWS.
func (s *Service) Purge(ctx context.Context, name string) error {
	now := s.clock.Now()
	return s.updateQueue(ctx, name, func(tx storage.Tx) error {
		r, err := getRecord(tx, name)
		if err != nil {
			return err
		}
		if r.LastPurge != 0 && now.Sub(time.UnixMilli(r.LastPurge)) < 60*time.Second {
			return ErrPurgeInProgress
		}
		if _, err := tx.Purge(r.storageName()); err != nil {
			return err
		}
		r.LastPurge = now.UnixMilli()
		return putRecord(tx, r)
	})
}

// DeadLetterSources returns the names of the queues whose RedrivePolicy
// names queue name as dead-letter queue, after after, up to max, and
// whether more follow. ErrNoSuchQueue.
func (s *Service) DeadLetterSources(ctx context.Context, name, after string, max int) (names []string, more bool, err error) {
	target := s.ARN(name)
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		names, more = nil, false
		if _, err := getRecord(tx, name); err != nil {
			return err
		}
		it, err := tx.NewIterator(append(queueKey(after), 0), prefixEnd([]byte(queuePrefix)))
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			raw, err := it.Value()
			if err != nil {
				it.Close()
				return err
			}
			var r record
			if json.Unmarshal(raw, &r) != nil {
				continue
			}
			if rp, ok := r.redrive(); ok && rp.DeadLetterTargetArn == target {
				if len(names) == max {
					more = true
					break
				}
				names = append(names, r.Name)
			}
		}
		return it.Close()
	})
	return names, more, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
