package queue

import (
	"context"
	"fmt"
	"sync"

	"sluice/internal/policy"
	"sluice/internal/storage"
)

// genCache maps queue names to values derived from their records: the
// parsed Policy for Allows (policies), which S3 runs for every event
// record it publishes (issue 6), and the decoded record for load
// (loaded), which every ReceiveMessage, DeleteMessageBatch and
// SendMessageBatch ran in a snapshot of its own. Without them each paid
// a snapshot and a read (and a JSON decode and a policy parse).
//
// Invalidation: every transaction that writes a queue record runs through
// updateQueue, which forgets the queue before the transaction and again
// after it returns. An entry is only stored if no forget happened since
// its load began (the generation check), so an entry loaded before a
// commit cannot outlive that commit's second forget, and the second forget
// happens before the API call that changed the record returns: the very
// next request sees the change. Errors (no such queue) are not cached.
// This relies on the Service being the only writer of its store's queue
// records, which it is: the server builds one per store.
type genCache[V any] struct {
	mu  sync.Mutex
	gen uint64       // bumped by every forget
	m   map[string]V // by queue name
}

func (c *genCache[V]) get(name string) (V, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	return e, c.gen, ok
}

// put stores e unless the cache was invalidated since gen was read.
func (c *genCache[V]) put(name string, gen uint64, e V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = map[string]V{}
	}
	c.m[name] = e
}

func (c *genCache[V]) forget(name string) {
	c.mu.Lock()
	c.gen++
	delete(c.m, name)
	c.mu.Unlock()
}

// cachedPolicy is a queue's parsed policy, or why it has none usable,
// and the verdicts already evaluated under it.
type cachedPolicy struct {
	pol      *policy.Policy // nil: refuse (noPolicy, or reason)
	noPolicy bool
	reason   string
	verdicts *verdicts
}

// verdicts memoizes Evaluate for one parsed policy: S3 asks the same
// question (service, bucket, account) for every record it publishes. It
// lives and dies with its cachedPolicy entry, so it needs no invalidation
// of its own; it is bounded so that many sources cannot grow it without
// limit.
type verdicts struct {
	mu sync.Mutex
	m  map[verdictKey]policy.Result
}

type verdictKey struct{ queueARN, service, sourceARN, sourceAccount string }

const maxVerdicts = 256

func (v *verdicts) evaluate(p *policy.Policy, k verdictKey) policy.Result {
	v.mu.Lock()
	r, ok := v.m[k]
	v.mu.Unlock()
	if ok {
		return r
	}
	r = p.Evaluate(policy.ServiceRequest(k.service, "sqs:SendMessage", k.queueARN, k.sourceARN, k.sourceAccount))
	v.mu.Lock()
	if len(v.m) < maxVerdicts {
		v.m[k] = r
	}
	v.mu.Unlock()
	return r
}

// updateQueue runs a transaction that may write queue name's record,
// keeping the caches of records and policies correct around it.
func (s *Service) updateQueue(ctx context.Context, name string, fn func(tx storage.Tx) error) error {
	s.forget(name)
	defer s.forget(name)
	return s.store.Update(ctx, fn)
}

// forget drops name from both caches, the record cache first. A policy
// entry is derived from a loaded record, so the other order left a window:
// a reader that read the policies' generation after the policies were
// forgotten could still hit the stale record (not yet forgotten), and store
// the policy parsed from it under that fresh generation, where the next
// request found it (TestAllowsCacheRace failed 152 of 1,000 runs).
// With the record forgotten first, a reader that hits a stale record read
// the policies' generation before their forget, so its put is refused.
func (s *Service) forget(name string) {
	s.loaded.forget(name)
	s.policies.forget(name)
}

// queuePolicy returns queue name's parsed policy (cached).
func (s *Service) queuePolicy(ctx context.Context, name string) (cachedPolicy, error) {
	e, gen, ok := s.policies.get(name)
	if ok {
		return e, nil
	}
	r, err := s.load(ctx, name)
	if err != nil {
		return cachedPolicy{}, err
	}
	doc := r.Attributes[AttrPolicy]
	switch p, err := s.parsePolicy(doc); {
	case doc == "":
		e.noPolicy = true
	case err != nil:
		e.reason = fmt.Sprintf("queue %s has an unreadable Policy: %v", name, err)
	default:
		e.pol = p
		e.verdicts = &verdicts{m: map[verdictKey]policy.Result{}}
	}
	s.policies.put(name, gen, e)
	return e, nil
}
