package function

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"

	"sluice/internal/arn"
	"sluice/internal/policy"
	"sluice/internal/storage"
)

// code is an uploaded package, written as a blob before the commit that
// references it (a crash in between leaks nothing: the Sweeper removes it).
type code struct {
	blob     storage.BlobID
	size     int64
	sha      string
	unzipped int64
}

func (s *Service) writeCode(ctx context.Context, zipFile []byte) (code, error) {
	if len(zipFile) == 0 {
		return code{}, invalid("Please provide a source for function code.")
	}
	unzipped, err := checkZip(zipFile)
	if err != nil {
		return code{}, err
	}
	if s.blobs == nil {
		return code{}, errors.New("function: no blob store configured")
	}
	sum := sha256.Sum256(zipFile)
	id, n, err := s.blobs.Write(ctx, bytes.NewReader(zipFile))
	if err != nil {
		return code{}, fmt.Errorf("function: store code: %w", err)
	}
	return code{blob: id, size: n, sha: base64.StdEncoding.EncodeToString(sum[:]), unzipped: unzipped}, nil
}

func (s *Service) checkRole(ctx context.Context, role string) error {
	if err := validateRole(role); err != nil {
		return err
	}
	if s.cfg.RoleExists != nil {
		if err := s.cfg.RoleExists(ctx, role); err != nil {
			s.log.Debug("function role refused", "role", role, "err", err)
			return invalid("The role defined for the function cannot be assumed by Lambda.")
		}
	}
	return nil
}

// Create is CreateFunction. Errors: ErrValidation and ErrInvalidParameter
// for bad fields (name, role, runtime, handler, timeout, memory,
// environment, a zip that is not a zip or is unsafe), ErrRequestTooLarge
// for a zip over 50 MB, ErrConflict when the function exists ("Function
// already exist: <name>"). The record and its blob reference commit
// together; the function is Active at once.
func (s *Service) Create(ctx context.Context, in CreateInput) (Configuration, error) {
	name, err := s.resolve(in.FunctionName, "")
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// Another account or region in an ARN: Lambda refuses it.
			return Configuration{}, invalid("The function ARN %s is not in this account or region", in.FunctionName)
		}
		return Configuration{}, err
	}
	if in.PackageType != "" && in.PackageType != "Zip" {
		return Configuration{}, invalid("Sluice runs Zip packages only; PackageType %s is not supported", in.PackageType)
	}
	if in.Runtime == "" || in.Handler == "" {
		return Configuration{}, invalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := validateRuntime(in.Runtime); err != nil {
		return Configuration{}, err
	}
	if err := validateHandler(in.Handler); err != nil {
		return Configuration{}, err
	}
	r := &record{Name: name, Role: in.Role, Runtime: in.Runtime, Handler: in.Handler,
		Description: in.Description, Timeout: DefaultTimeout, MemorySize: DefaultMemorySize}
	if in.Timeout != nil {
		r.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		r.MemorySize = *in.MemorySize
	}
	if err := validateTimeout(r.Timeout); err != nil {
		return Configuration{}, err
	}
	if err := validateMemory(r.MemorySize); err != nil {
		return Configuration{}, err
	}
	if len(in.Description) > 256 {
		return Configuration{}, newErr(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if in.Environment != nil {
		if err := validateEnv(in.Environment); err != nil {
			return Configuration{}, err
		}
		r.Env = maps.Clone(in.Environment)
	}
	for _, a := range in.Architectures {
		if a != "x86_64" && a != "arm64" {
			return Configuration{}, newErr(ErrValidation, "1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", a)
		}
	}
	if len(in.Architectures) > 1 {
		return Configuration{}, newErr(ErrValidation, "1 validation error detected: Value at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1")
	}
	r.Architectures = in.Architectures
	if err := validateTags(in.Tags); err != nil {
		return Configuration{}, err
	}
	r.Tags = maps.Clone(in.Tags)
	if in.DeadLetterTarget != "" {
		if err := s.validateDestination("deadLetterConfig.targetArn", in.DeadLetterTarget, false); err != nil {
			return Configuration{}, err
		}
		r.DeadLetter = in.DeadLetterTarget
	}
	if err := s.checkRole(ctx, in.Role); err != nil {
		return Configuration{}, err
	}
	c, err := s.writeCode(ctx, in.ZipFile)
	if err != nil {
		return Configuration{}, err
	}
	r.Blob, r.CodeSize, r.CodeSha256, r.UnzippedSize = c.blob, c.size, c.sha, c.unzipped
	r.Modified = s.clock.Now().UnixMilli()
	r.RevisionID = newRevisionID()
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(functionKey(name)); err == nil {
			return newErr(ErrConflict, "Function already exist: %s", name)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.RefBlob(r.Blob, functionKey(name)); err != nil {
			return err
		}
		return put(tx, r)
	})
	if err != nil {
		// The blob is unreferenced: the Sweeper removes it.
		return Configuration{}, err
	}
	s.metrics.functions.Inc()
	s.prepareCode(r.Blob)
	s.startPump(name)
	s.log.Info("function created", "function", name, "runtime", r.Runtime, "code_size", r.CodeSize)
	if in.Publish {
		// Publish answers with version 1's configuration, as Lambda does.
		return s.PublishVersion(ctx, name, "", "", "")
	}
	return s.configuration(r), nil
}

// Get is GetFunction: the configuration, tags and reserved concurrency.
// ErrNotFound, ErrValidation for a malformed name.
func (s *Service) Get(ctx context.Context, name, qualifier string) (Function, error) {
	n, q, err := s.resolveQualified(name, qualifier)
	if err != nil {
		return Function{}, err
	}
	latest, err := s.load(ctx, n)
	if err != nil {
		return Function{}, err
	}
	r, _, err := s.loadTarget(ctx, n, q, false)
	if err != nil {
		return Function{}, err
	}
	// Tags and reserved concurrency belong to the function, whatever
	// qualifier was asked for.
	r.Tags, r.Reserved = latest.Tags, latest.Reserved
	f := Function{Configuration: s.configuration(r), Tags: maps.Clone(r.Tags)}
	if f.Tags == nil {
		f.Tags = map[string]string{}
	}
	if r.Reserved != nil {
		v := *r.Reserved
		f.ReservedConcurrency = &v
	}
	return f, nil
}

// GetConfiguration is GetFunctionConfiguration.
func (s *Service) GetConfiguration(ctx context.Context, name, qualifier string) (Configuration, error) {
	f, err := s.Get(ctx, name, qualifier)
	return f.Configuration, err
}

// OpenCode opens the function's zip package (GetFunction's Code.Location
// points at an edge URL that serves it). The caller closes the Blob.
func (s *Service) OpenCode(ctx context.Context, name string) (storage.Blob, error) {
	n, err := s.resolve(name, "")
	if err != nil {
		return nil, err
	}
	r, err := s.load(ctx, n)
	if err != nil {
		return nil, err
	}
	return s.blobs.Open(r.Blob)
}

// List is ListFunctions: up to max functions (1..50; 0 means 50) whose
// names sort after marker (the NextMarker of the previous page), and the
// marker of the next page ("" on the last page). A marker that names no
// function still works: the page starts after it.
func (s *Service) List(ctx context.Context, marker string, max int) ([]Configuration, string, error) {
	if max < 0 {
		return nil, "", newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", max)
	}
	if max == 0 || max > 50 {
		max = 50
	}
	var out []Configuration
	next := ""
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		out, next = nil, ""
		it, err := tx.NewIterator([]byte(functionPrefix), []byte{tableByte, 'f' + 1})
		if err != nil {
			return err
		}
		defer it.Close()
		ok := it.First()
		if marker != "" {
			ok = it.SeekGE(append(functionKey(marker), 0))
		}
		for ; ok; ok = it.Next() {
			if len(out) == max {
				next = out[len(out)-1].FunctionName
				break
			}
			v, err := it.Value()
			if err != nil {
				return err
			}
			var r record
			if err := jsonUnmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, s.configuration(&r))
		}
		return it.Close()
	})
	if out == nil {
		out = []Configuration{}
	}
	return out, next, err
}

// UpdateCode is UpdateFunctionCode. The new package replaces the old one
// in one commit (the old blob's reference is dropped; the Sweeper removes
// it); warm instances of the old code are not reused. With DryRun only
// the checks run. ErrNotFound, ErrPreconditionFailed (RevisionId), the
// zip errors of Create.
func (s *Service) UpdateCode(ctx context.Context, name string, in UpdateCodeInput) (Configuration, error) {
	n, err := s.resolve(name, "")
	if err != nil {
		return Configuration{}, err
	}
	if in.DryRun {
		if _, err := checkZip(in.ZipFile); err != nil {
			return Configuration{}, err
		}
		r, err := s.load(ctx, n)
		if err != nil {
			return Configuration{}, err
		}
		return s.configuration(r), nil
	}
	if _, err := s.load(ctx, n); err != nil {
		return Configuration{}, err // not found before writing a blob
	}
	c, err := s.writeCode(ctx, in.ZipFile)
	if err != nil {
		return Configuration{}, err
	}
	r, err := s.modify(ctx, n, in.RevisionId, true, func(tx storage.Tx, r *record) error {
		if r.Blob != c.blob {
			if err := tx.UnrefBlob(r.Blob, functionKey(n)); err != nil {
				return err
			}
		}
		if err := tx.RefBlob(c.blob, functionKey(n)); err != nil {
			return err
		}
		r.Blob, r.CodeSize, r.CodeSha256, r.UnzippedSize = c.blob, c.size, c.sha, c.unzipped
		return nil
	})
	if err != nil {
		return Configuration{}, err
	}
	s.retire(n)
	s.prepareCode(r.Blob)
	if in.Publish {
		return s.PublishVersion(ctx, n, r.CodeSha256, "", "")
	}
	return s.configuration(r), nil
}

// UpdateConfiguration is UpdateFunctionConfiguration: the fields that are
// set replace the stored ones; warm instances are not reused afterwards.
// Errors as Create, plus ErrNotFound and ErrPreconditionFailed.
func (s *Service) UpdateConfiguration(ctx context.Context, name string, in UpdateConfigInput) (Configuration, error) {
	n, err := s.resolve(name, "")
	if err != nil {
		return Configuration{}, err
	}
	if in.Runtime != nil {
		if err := validateRuntime(*in.Runtime); err != nil {
			return Configuration{}, err
		}
	}
	if in.Handler != nil {
		if err := validateHandler(*in.Handler); err != nil {
			return Configuration{}, err
		}
	}
	if in.Timeout != nil {
		if err := validateTimeout(*in.Timeout); err != nil {
			return Configuration{}, err
		}
	}
	if in.MemorySize != nil {
		if err := validateMemory(*in.MemorySize); err != nil {
			return Configuration{}, err
		}
	}
	if in.Environment != nil {
		if err := validateEnv(*in.Environment); err != nil {
			return Configuration{}, err
		}
	}
	if in.Description != nil && len(*in.Description) > 256 {
		return Configuration{}, newErr(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if in.Role != nil {
		if err := s.checkRole(ctx, *in.Role); err != nil {
			return Configuration{}, err
		}
	}
	if in.DeadLetterTarget != nil && *in.DeadLetterTarget != "" {
		if err := s.validateDestination("deadLetterConfig.targetArn", *in.DeadLetterTarget, false); err != nil {
			return Configuration{}, err
		}
	}
	r, err := s.modify(ctx, n, in.RevisionId, true, func(_ storage.Tx, r *record) error {
		if in.Role != nil {
			r.Role = *in.Role
		}
		if in.Runtime != nil {
			r.Runtime = *in.Runtime
		}
		if in.Handler != nil {
			r.Handler = *in.Handler
		}
		if in.Description != nil {
			r.Description = *in.Description
		}
		if in.Timeout != nil {
			r.Timeout = *in.Timeout
		}
		if in.MemorySize != nil {
			r.MemorySize = *in.MemorySize
		}
		if in.Environment != nil {
			r.Env = maps.Clone(*in.Environment)
			if r.Env == nil {
				r.Env = map[string]string{}
			}
		}
		if in.DeadLetterTarget != nil {
			r.DeadLetter = *in.DeadLetterTarget
		}
		return nil
	})
	if err != nil {
		return Configuration{}, err
	}
	s.retire(n)
	return s.configuration(r), nil
}

// Delete is DeleteFunction: the record, its policy, tags and concurrency
// go in one commit with the code blob's reference; running instances are
// stopped and the function's log is dropped. A qualifier other than
// $LATEST is ErrNotFound; ErrNotFound when there is no such function.
func (s *Service) Delete(ctx context.Context, name, qualifier string) error {
	n, q, err := s.resolveQualified(name, qualifier)
	if err != nil {
		return err
	}
	if q != "" {
		// A qualifier deletes one published version only.
		if err := s.deleteVersion(ctx, n, q); err != nil {
			return err
		}
		s.retire(n)
		return nil
	}
	dropped := 0
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := s.get(tx, n)
		if err != nil {
			return err
		}
		if err := tx.UnrefBlob(r.Blob, functionKey(n)); err != nil {
			return err
		}
		if err := s.deleteAllVersions(tx, n); err != nil {
			return err
		}
		if dropped, err = s.deleteAsyncTx(tx, n); err != nil {
			return err
		}
		return tx.Delete(functionKey(n))
	})
	if err != nil {
		return err
	}
	s.metrics.functions.Dec()
	s.afterDelete(n, dropped)
	s.retire(n)
	s.mu.Lock()
	delete(s.logs, n)
	s.mu.Unlock()
	s.log.Info("function deleted", "function", n)
	return nil
}

// AddPermission adds a statement to the function's resource policy, built
// with policy.NewStatement as Lambda writes it (aws-wire 2.2), and returns
// the statement as JSON. ErrConflict for a duplicate StatementId,
// ErrPreconditionFailed for a stale RevisionId, ErrPolicyLengthExceeded
// past 20 KB, ErrInvalidParameter/ErrValidation for bad fields.
func (s *Service) AddPermission(ctx context.Context, name string, in PermissionInput) (string, error) {
	n, q, err := s.resolveQualified(name, in.Qualifier)
	if err != nil {
		return "", err
	}
	if !sidRE.MatchString(in.StatementId) {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)", in.StatementId)
	}
	if !actionRE.MatchString(in.Action) {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", in.Action)
	}
	if in.Principal == "" || len(in.Principal) > 256 {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+", in.Principal)
	}
	if in.SourceAccount != "" && !arn.ValidAccountID(in.SourceAccount) {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}", in.SourceAccount)
	}
	if in.SourceArn != "" && !arn.IsARN(in.SourceArn) {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'sourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", in.SourceArn)
	}
	g := policy.Grant{Sid: in.StatementId, Principal: in.Principal, Actions: []string{in.Action},
		Resource: s.arnOf(n), SourceArn: in.SourceArn, SourceAccount: in.SourceAccount}
	if q != "" && q != Version {
		g.Resource = s.qualifiedARN(n, q) // a qualifier's statement names it
	}
	if in.PrincipalOrgID != "" {
		g.Extra = append(g.Extra, policy.Condition{Operator: "StringEquals", Key: "aws:PrincipalOrgID", Values: []string{in.PrincipalOrgID}})
	}
	st := policy.NewStatement(g)
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		o, err := s.ownerOf(tx, n, q)
		if err != nil {
			return err
		}
		cur, rev := o.get()
		if in.RevisionId != "" && in.RevisionId != rev {
			return newErr(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		p, err := parsePolicy(cur)
		if err != nil {
			return err
		}
		if err := p.Add(st); err != nil {
			return newErr(ErrConflict, "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
		}
		doc := p.Marshal()
		if err := policy.LambdaLimits().CheckSize(doc); err != nil {
			return newErr(ErrPolicyLengthExceeded, "The final policy size (%d) is bigger than the limit (20480).", len(doc))
		}
		return o.set(string(doc))
	})
	if err != nil {
		return "", err
	}
	return string(st.Marshal()), nil
}

// RemovePermission removes the statement sid. ErrNotFound when the
// function has no such statement, ErrPreconditionFailed.
func (s *Service) RemovePermission(ctx context.Context, name, qualifier, sid, revision string) error {
	n, q, err := s.resolveQualified(name, qualifier)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx storage.Tx) error {
		o, err := s.ownerOf(tx, n, q)
		if err != nil {
			return err
		}
		cur, rev := o.get()
		if revision != "" && revision != rev {
			return newErr(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		p, err := parsePolicy(cur)
		if err != nil {
			return err
		}
		if !p.Remove(sid) {
			return newErr(ErrNotFound, "Statement %s is not found in resource policy.", sid)
		}
		if len(p.Statements) == 0 {
			return o.set("")
		}
		return o.set(string(p.Marshal()))
	})
}

// GetPolicy returns the resource policy document and the function's
// RevisionId. ErrNotFound when the function has no policy ("The resource
// you requested does not exist.").
func (s *Service) GetPolicy(ctx context.Context, name, qualifier string) (doc, revision string, err error) {
	n, q, err := s.resolveQualified(name, qualifier)
	if err != nil {
		return "", "", err
	}
	doc, revision, err = s.viewPolicy(ctx, n, q)
	if err != nil {
		return "", "", err
	}
	if doc == "" {
		return "", "", newErr(ErrNotFound, "The resource you requested does not exist.")
	}
	return doc, revision, nil
}

// Allows decides whether service (s3.amazonaws.com, sns.amazonaws.com)
// may invoke the function functionARN on behalf of sourceARN in
// sourceAccount under its resource policy (IAM semantics). A function
// without a policy refuses; the Result's Reason says why. ErrNotFound
// when the function does not exist.
//
// A qualified ARN (name:alias, name:3) is judged by that qualifier's own
// policy, as Lambda keeps one per qualifier; ErrNotFound when the
// qualifier does not exist.
func (s *Service) Allows(ctx context.Context, functionARN, service, sourceARN, sourceAccount string) (policy.Result, error) {
	n, q, err := s.resolveQualified(functionARN, "")
	if err != nil {
		return policy.Result{}, err
	}
	doc, _, err := s.viewPolicy(ctx, n, q)
	if err != nil {
		return policy.Result{}, err
	}
	shown, resource := n, s.arnOf(n)
	if q != "" && q != Version {
		shown, resource = n+":"+q, s.qualifiedARN(n, q)
	}
	if doc == "" {
		return policy.Result{Decision: policy.ImplicitDeny, Statement: -1,
			Reason: fmt.Sprintf("function %s has no resource policy allowing %s", shown, service)}, nil
	}
	p, err := parsePolicy(doc)
	if err != nil {
		return policy.Result{Decision: policy.ImplicitDeny, Statement: -1,
			Reason: fmt.Sprintf("function %s has an unreadable policy: %v", shown, err)}, nil
	}
	return p.Evaluate(policy.ServiceRequest(service, "lambda:InvokeFunction", resource, sourceARN, sourceAccount)), nil
}

func parsePolicy(doc string) (*policy.Policy, error) {
	if doc == "" {
		return policy.New("default"), nil
	}
	return policy.Parse([]byte(doc), policy.LambdaLimits())
}

// PutConcurrency is PutFunctionConcurrency: at most n instances of the
// function run at once. n must be 0..MaxInstances (0 stops invocations:
// every Invoke is ErrTooManyRequests).
func (s *Service) PutConcurrency(ctx context.Context, name string, n int) (int, error) {
	fn, err := s.resolve(name, "")
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, newErr(ErrValidation, "1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n)
	}
	if n > s.cfg.MaxInstances {
		return 0, invalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [0].")
	}
	_, err = s.modify(ctx, fn, "", false, func(_ storage.Tx, r *record) error {
		v := n
		r.Reserved = &v
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.wake()
	s.pokeAsync(fn)
	return n, nil
}

// GetConcurrency is GetFunctionConcurrency: nil when none is reserved.
func (s *Service) GetConcurrency(ctx context.Context, name string) (*int, error) {
	f, err := s.Get(ctx, name, "")
	return f.ReservedConcurrency, err
}

// DeleteConcurrency is DeleteFunctionConcurrency.
func (s *Service) DeleteConcurrency(ctx context.Context, name string) error {
	fn, err := s.resolve(name, "")
	if err != nil {
		return err
	}
	_, err = s.modify(ctx, fn, "", false, func(_ storage.Tx, r *record) error {
		r.Reserved = nil
		return nil
	})
	s.wake()
	s.pokeAsync(fn)
	return err
}

// TagResource adds or replaces tags of the function the ARN names.
func (s *Service) TagResource(ctx context.Context, resource string, tags map[string]string) error {
	n, err := s.resolveTagged(resource)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return invalid("Tags cannot be empty")
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	_, err = s.modify(ctx, n, "", false, func(_ storage.Tx, r *record) error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		maps.Copy(r.Tags, tags)
		if len(r.Tags) > 50 {
			return invalid("Number of tags exceeds resource tag limit.")
		}
		return nil
	})
	return err
}

// UntagResource removes the named tag keys (missing keys are ignored).
func (s *Service) UntagResource(ctx context.Context, resource string, keys []string) error {
	n, err := s.resolveTagged(resource)
	if err != nil {
		return err
	}
	_, err = s.modify(ctx, n, "", false, func(_ storage.Tx, r *record) error {
		for _, k := range keys {
			delete(r.Tags, k)
		}
		return nil
	})
	return err
}

// ListTags returns the tags of the function the ARN names.
func (s *Service) ListTags(ctx context.Context, resource string) (map[string]string, error) {
	n, err := s.resolveTagged(resource)
	if err != nil {
		return nil, err
	}
	r, err := s.load(ctx, n)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(r.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// resolveTagged takes the Resource of the tagging APIs, which must be a
// function ARN.
func (s *Service) resolveTagged(resource string) (string, error) {
	a, err := arn.ParseFunction(resource)
	if err != nil {
		return "", newErr(ErrValidation, "1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?", resource)
	}
	return s.resolve(a.ARN.String(), "")
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalid("Number of tags exceeds resource tag limit.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return invalid("The tag key or value is invalid: key %q", k)
		}
	}
	return nil
}

// AccountSettings is GetAccountSettings: Lambda's default limits, the
// server's instance cap as ConcurrentExecutions, and the usage.
func (s *Service) AccountSettings(ctx context.Context) (AccountSettings, error) {
	out := AccountSettings{AccountLimit: AccountLimit{
		TotalCodeSize:        80530636800,
		CodeSizeUnzipped:     MaxUnzippedSize,
		CodeSizeZipped:       MaxZipSize,
		ConcurrentExecutions: s.cfg.MaxInstances,
	}}
	reserved := 0
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		out.AccountUsage = AccountUsage{}
		reserved = 0
		it, err := tx.NewIterator([]byte(functionPrefix), []byte{tableByte, 'f' + 1})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.Value()
			if err != nil {
				return err
			}
			var r record
			if err := jsonUnmarshal(v, &r); err != nil {
				return err
			}
			out.AccountUsage.FunctionCount++
			out.AccountUsage.TotalCodeSize += r.CodeSize
			if r.Reserved != nil {
				reserved += *r.Reserved
			}
		}
		return it.Close()
	})
	out.AccountLimit.UnreservedConcurrentExecutions = max(0, s.cfg.MaxInstances-reserved)
	return out, err
}

// names returns every function name (for tests and Close).
func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = io.EOF
