package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"sluice/internal/auth"
	"sluice/internal/event"
	"sluice/internal/function"
	"sluice/internal/iamapi"
	"sluice/internal/lambdaapi"
	"sluice/internal/object"
	"sluice/internal/role"
	"sluice/internal/runtimeapi"
)

// keyring resolves the access keys the server accepts: the root key, and
// the assumed-role sessions minted for function instances while their
// instance runs.
type keyring struct {
	root     auth.Credentials
	sessions *role.Sessions
	// live reports whether the instance a session was minted for still
	// runs; nil means every minted session is live.
	live func(accessKeyID string) bool
}

// Lookup implements auth.Keyring.
func (k *keyring) Lookup(id string) (auth.Credentials, bool) {
	if id == k.root.AccessKeyID {
		return k.root, true
	}
	s, ok := k.sessions.Lookup(id)
	if !ok {
		return auth.Credentials{}, false
	}
	if k.live != nil && !k.live(id) {
		// The instance stopped: its key dies with it.
		k.sessions.Revoke(id)
		return auth.Credentials{}, false
	}
	return auth.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey,
		SessionToken: s.SessionToken, Principal: s.Principal()}, true
}

// sessionGrace is how long a minted session counts as live before its
// instance has registered it with the function service.
const sessionGrace = time.Minute

// functionCredentials mints an instance's credentials: an assumed-role
// session of the function's role, named after the function, as Lambda's
// are. Sessions of instances that are gone are pruned first.
func (s *Server) functionCredentials(ctx context.Context, in function.Session) (function.Credentials, error) {
	now := s.cfg.Clock.Now()
	s.sessions.Prune(func(sess role.Session) bool {
		return now.Sub(sess.Issued) < sessionGrace || s.keys.live == nil || s.keys.live(sess.AccessKeyID)
	})
	sess, err := s.roles.Assume(ctx, s.sessions, in.Role, in.FunctionName)
	if err != nil {
		return function.Credentials{}, err
	}
	return function.Credentials{AccessKeyID: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey,
		SessionToken: sess.SessionToken, Expiration: sess.Expiration}, nil
}

// roleUsable is CreateFunction's role check: the role exists and its
// trust policy lets Lambda assume it.
func (s *Server) roleUsable(ctx context.Context, roleARN string) error {
	r, err := s.roles.ByARN(ctx, roleARN)
	if err != nil {
		return err
	}
	if !r.AssumableBy(role.LambdaPrincipal) {
		return role.ErrNotAssumable
	}
	return nil
}

// objectReader reads function packages from Sluice's own S3.
type objectReader struct{ objects *object.Service }

func (o objectReader) ReadObject(ctx context.Context, bucket, key string, max int64) ([]byte, error) {
	rd, err := o.objects.GetObject(ctx, object.GetInput{Bucket: bucket, Key: key, Length: -1})
	switch {
	case errors.Is(err, object.ErrNoSuchBucket):
		return nil, lambdaapi.ErrNoSuchBucket
	case errors.Is(err, object.ErrNoSuchKey):
		return nil, lambdaapi.ErrNoSuchKey
	case err != nil:
		return nil, err
	}
	defer rd.Close()
	b, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(b)) > max {
		return nil, lambdaapi.ErrObjectTooLarge
	}
	return b, nil
}

// buildFunctions builds the role service, the function service and the
// IAM/STS and Lambda handlers. It runs after the listener is bound (the
// instances' AWS_ENDPOINT_URL is the server's loopback URL).
func (s *Server) buildFunctions(objects *object.Service) error {
	cfg := s.cfg
	s.roles = role.New(role.Config{Store: s.store, Clock: cfg.Clock, AccountID: cfg.AccountID})
	runtimeDir := cfg.RuntimeDir
	if runtimeDir == "" {
		runtimeDir = filepath.Join(cfg.DataDir, "runtime")
	}
	fns, err := function.New(function.Config{
		Store: s.store, Blobs: s.blobs, Clock: cfg.Clock, Logger: cfg.Logger, Registerer: s.registry,
		Region: cfg.Region, AccountID: cfg.AccountID,
		RuntimeDir: runtimeDir, Python: cfg.Python, Node: cfg.Node,
		Runtime:      runtimeapi.Listen,
		Credentials:  s.functionCredentials,
		RoleExists:   s.roleUsable,
		EndpointURL:  "http://" + endpointHost(s.listener.Addr()),
		MaxInstances: cfg.MaxInstances,
		Queues:       functionQueues{s},
		Tracker:      functionTracker{s},
	})
	if err != nil {
		return fmt.Errorf("functions: %w", err)
	}
	s.functions = fns
	s.mappings = s.buildMappings()
	s.keys.live = func(id string) bool {
		_, ok := fns.CurrentInvocation(id)
		return ok
	}
	verifier := &auth.Verifier{Keys: s.keys, Clock: cfg.Clock}
	s.iam = iamapi.New(iamapi.Config{Roles: s.roles, Sessions: s.sessions, Verifier: verifier,
		RootAccessKey: s.root.AccessKeyID, Logger: cfg.Logger, Registerer: s.registry})
	s.lambda = lambdaapi.New(lambdaapi.Config{Functions: fns, Mappings: s.mappings, Verifier: verifier, Objects: objectReader{objects},
		Root: s.root, PublicURL: s.url, Clock: cfg.Clock, Logger: cfg.Logger, Registerer: s.registry,
		Lineage: invocationLineage{s}})
	return nil
}

// Functions is the server's function service (tests inspect it).
func (s *Server) Functions() *function.Service { return s.functions }

// invocationLineage is the event.LineageSource of the S3, SQS and Lambda
// edges: the lineage of the invocation a function session's access key
// serves, so that the events a function's writes cause count toward the
// request that started the chain and the wait API follows them, and the
// messages it sends and the functions it invokes carry the chain on (loop
// detection). The function service is built after the S3 handler, before
// any request is served.
type invocationLineage struct{ s *Server }

func (l invocationLineage) Lineage(accessKeyID string) (event.Lineage, bool) {
	if l.s.functions == nil {
		return event.Lineage{}, false
	}
	c, ok := l.s.functions.CurrentInvocation(accessKeyID)
	if !ok || c.RequestID == "" {
		return event.Lineage{}, false
	}
	return c.Lineage, true
}
