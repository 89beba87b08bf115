// Package role keeps IAM roles: the records behind IAM CreateRole and its
// friends, and the assumed-role sessions Sluice mints for function
// instances (session.go).
//
// What is stored and what is enforced: a role's trust policy
// (AssumeRolePolicyDocument) is parsed with internal/policy and checked when
// a function names the role (Lambda must be allowed to assume it). The
// managed policies attached to a role and its inline policies are stored and
// listed, but not enforced: a function's session acts with the account's
// permissions, as the root credentials do.
//
// Records live in the key-value store under the table byte 'R', keyed by the
// lower-cased role name, because IAM role names are unique regardless of
// case ("Role names are not distinguished by case", IAM CreateRole).
package role

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"sluice/internal/arn"
	"sluice/internal/clock"
	"sluice/internal/policy"
	"sluice/internal/storage"
)

// table is the first byte of every role key ('b','o','v' are objects, 'Q'
// queues, 'F' functions).
const table = 'R'

// Limits from the IAM quotas page and the CreateRole API reference.
const (
	MaxNameLen           = 64
	MaxPathLen           = 512
	MaxDescriptionLen    = 1000
	MaxTrustPolicyLen    = 2048  // "Role trust policy length": 2,048 characters
	MaxInlinePoliciesLen = 10240 // "Role policy size": 10,240 characters, all inline policies together
	MaxAttachedPolicies  = 10    // "Managed policies attached to an IAM role": 10 by default
	MaxPolicyNameLen     = 128
	DefaultSessionSecs   = 3600
	MaxSessionSecs       = 43200
)

// Role is one IAM role.
type Role struct {
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	ID          string    `json:"id"` // AROA + 17 characters
	ARN         string    `json:"arn"`
	Description string    `json:"description,omitempty"`
	TrustPolicy string    `json:"trust"` // the document as given
	MaxSession  int       `json:"maxSession"`
	Created     time.Time `json:"created"`
	Tags        []Tag     `json:"tags,omitempty"`
	// Attached are managed policy ARNs in attach order; Inline maps a
	// policy name to its document. Stored, not enforced.
	Attached []string          `json:"attached,omitempty"`
	Inline   map[string]string `json:"inline,omitempty"`
}

// Tag is a role tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Errors. Each *api package maps them to IAM's codes.
var (
	// ErrNoSuchRole: no role has the name (IAM NoSuchEntity).
	ErrNoSuchRole = errors.New("no such role")
	// ErrExists: a role with that name (any case) exists (EntityAlreadyExists).
	ErrExists = errors.New("role already exists")
	// ErrNoSuchPolicy: the inline policy or attachment is not on the role.
	ErrNoSuchPolicy = errors.New("no such role policy")
)

// ConflictError is DeleteRole on a role that still has policies
// (IAM DeleteConflict). Inline tells which kind is left.
type ConflictError struct{ Inline bool }

func (e *ConflictError) Error() string {
	if e.Inline {
		return "role has inline policies"
	}
	return "role has attached policies"
}

// ValidationError is a parameter that breaks IAM's constraints. Field is
// the camel-case member name IAM's messages use ("roleName").
type ValidationError struct {
	Field, Value, Constraint string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", e.Value, e.Field, e.Constraint)
}

// MalformedPolicyError is a policy document IAM would refuse
// (MalformedPolicyDocument).
type MalformedPolicyError struct{ Reason string }

func (e *MalformedPolicyError) Error() string { return e.Reason }

// InvalidInputError is an argument IAM refuses with InvalidInput (a policy
// ARN that is not one).
type InvalidInputError struct{ Message string }

func (e *InvalidInputError) Error() string { return e.Message }

// LimitError is a quota IAM answers with LimitExceeded.
type LimitError struct{ Message string }

func (e *LimitError) Error() string { return e.Message }

// Config is what New needs.
type Config struct {
	Store     storage.Store
	Clock     clock.Clock
	AccountID string
}

// Service manages the roles of one account. It is safe for concurrent use.
type Service struct {
	store   storage.Store
	clock   clock.Clock
	account string
}

// New returns the role service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Service{store: cfg.Store, clock: cfg.Clock, account: cfg.AccountID}
}

// AccountID is the account the roles belong to.
func (s *Service) AccountID() string { return s.account }

var (
	namePattern       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	policyNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern       = regexp.MustCompile(`^(/|/[\x21-\x7E]*/)$`)
)

func key(name string) []byte { return append([]byte{table}, strings.ToLower(name)...) }

// ValidName checks a role name against CreateRole's constraints.
func ValidName(field, name string) error {
	if len(name) < 1 || len(name) > MaxNameLen {
		return &ValidationError{Field: field, Value: name, Constraint: fmt.Sprintf("Member must have length less than or equal to %d", MaxNameLen)}
	}
	if !namePattern.MatchString(name) {
		return &ValidationError{Field: field, Value: name, Constraint: `Member must satisfy regular expression pattern: [\w+=,.@-]+`}
	}
	return nil
}

// CreateInput is CreateRole's input.
type CreateInput struct {
	Name, Path, Description, TrustPolicy string
	MaxSession                           int // seconds; 0 means 3600
	Tags                                 []Tag
}

// Create stores a new role. Outcomes: the role; *ValidationError for a bad
// name, path, description or session duration; *MalformedPolicyError for a
// trust policy that does not parse or names no principal; ErrExists when the
// name (in any case) is taken.
func (s *Service) Create(ctx context.Context, in CreateInput) (Role, error) {
	if err := ValidName("roleName", in.Name); err != nil {
		return Role{}, err
	}
	if in.Path == "" {
		in.Path = "/"
	}
	if len(in.Path) > MaxPathLen || !pathPattern.MatchString(in.Path) {
		return Role{}, &ValidationError{Field: "path", Value: in.Path, Constraint: `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`}
	}
	if len(in.Description) > MaxDescriptionLen {
		return Role{}, &ValidationError{Field: "description", Value: in.Description, Constraint: fmt.Sprintf("Member must have length less than or equal to %d", MaxDescriptionLen)}
	}
	if in.MaxSession == 0 {
		in.MaxSession = DefaultSessionSecs
	}
	if in.MaxSession < DefaultSessionSecs || in.MaxSession > MaxSessionSecs {
		return Role{}, &ValidationError{Field: "maxSessionDuration", Value: fmt.Sprint(in.MaxSession), Constraint: "Member must have value between 3600 and 43200"}
	}
	if err := checkTrustPolicy(in.TrustPolicy); err != nil {
		return Role{}, err
	}
	r := Role{
		Name: in.Name, Path: in.Path, ID: "AROA" + randomID(17), Description: in.Description,
		TrustPolicy: in.TrustPolicy, MaxSession: in.MaxSession, Created: s.clock.Now().UTC().Truncate(time.Second), Tags: in.Tags,
	}
	r.ARN = s.roleARN(r.Path, r.Name)
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(key(in.Name)); err == nil {
			return ErrExists
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return put(tx, r)
	})
	if err != nil {
		return Role{}, fmt.Errorf("create role %s: %w", in.Name, err)
	}
	return r, nil
}

func (s *Service) roleARN(path, name string) string {
	return arn.ARN{Partition: arn.Partition, Service: "iam", AccountID: s.account, Resource: "role" + path + name}.String()
}

// checkTrustPolicy parses a trust policy as IAM does for CreateRole: a valid
// document within the length limit whose statements each name a principal.
func checkTrustPolicy(doc string) error {
	if doc == "" {
		return &ValidationError{Field: "assumeRolePolicyDocument", Value: "null", Constraint: "Member must not be null"}
	}
	if len(doc) > MaxTrustPolicyLen {
		return &LimitError{Message: fmt.Sprintf("Cannot exceed quota for ACLSizePerRole: %d", MaxTrustPolicyLen)}
	}
	p, err := parsePolicy(doc)
	if err != nil {
		return err
	}
	for _, st := range p.Statements {
		if st.Principal == nil && st.NotPrincipal == nil {
			return &MalformedPolicyError{Reason: "AssumeRolepolicy contained an invalid principal: Missing required field Principal"}
		}
	}
	return nil
}

func parsePolicy(doc string) (*policy.Policy, error) {
	if !json.Valid([]byte(doc)) {
		return nil, &MalformedPolicyError{Reason: "This policy contains invalid Json"}
	}
	p, err := policy.Parse([]byte(doc), policy.Limits{MaxBytes: MaxInlinePoliciesLen})
	if err != nil {
		return nil, &MalformedPolicyError{Reason: "Syntax errors in policy. " + err.Error()}
	}
	return p, nil
}

// checkIdentityPolicy checks an inline (identity) policy. internal/policy
// parses resource policies, whose statements must name a principal; an
// identity policy must not ("Policy document should not specify a
// principal.", IAM PutRolePolicy), so it is checked here for its shape
// only: it is stored, not enforced.
func checkIdentityPolicy(doc string) error {
	var d struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return &MalformedPolicyError{Reason: "This policy contains invalid Json"}
	}
	if d.Version != "" && d.Version != policy.VersionCurrent && d.Version != policy.Version2008 {
		return &MalformedPolicyError{Reason: "The policy failed legacy parsing"}
	}
	type statement struct {
		Effect       string          `json:"Effect"`
		Principal    json.RawMessage `json:"Principal"`
		NotPrincipal json.RawMessage `json:"NotPrincipal"`
		Action       json.RawMessage `json:"Action"`
		NotAction    json.RawMessage `json:"NotAction"`
	}
	var list []statement
	if err := json.Unmarshal(d.Statement, &list); err != nil {
		var one statement
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return &MalformedPolicyError{Reason: "Syntax errors in policy."}
		}
		list = []statement{one}
	}
	for _, st := range list {
		switch {
		case st.Principal != nil || st.NotPrincipal != nil:
			return &MalformedPolicyError{Reason: "Policy document should not specify a principal."}
		case st.Effect != "Allow" && st.Effect != "Deny":
			return &MalformedPolicyError{Reason: "Syntax errors in policy."}
		case st.Action == nil && st.NotAction == nil:
			return &MalformedPolicyError{Reason: "Policy statement must contain actions."}
		}
	}
	return nil
}

// Get returns the role called name (any case). Outcomes: the role, or
// ErrNoSuchRole.
func (s *Service) Get(ctx context.Context, name string) (Role, error) {
	var r Role
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		r, err = get(tx, name)
		return err
	})
	return r, err
}

// ByARN returns the role an ARN names: arn:aws:iam::<account>:role/[path/]name.
// Outcomes: the role; ErrNoSuchRole when the ARN is of another account, is
// not a role ARN, or names no role, or names it with another path.
func (s *Service) ByARN(ctx context.Context, roleARN string) (Role, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || a.AccountID != s.account || !strings.HasPrefix(a.Resource, "role/") {
		return Role{}, ErrNoSuchRole
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	r, err := s.Get(ctx, name)
	if err != nil {
		return Role{}, err
	}
	if r.ARN != roleARN {
		return Role{}, ErrNoSuchRole
	}
	return r, nil
}

// AssumableBy reports whether the role's trust policy lets the service
// principal (e.g. "lambda.amazonaws.com") call sts:AssumeRole.
func (r Role) AssumableBy(service string) bool {
	p, err := policy.Parse([]byte(r.TrustPolicy), policy.Limits{MaxBytes: MaxInlinePoliciesLen})
	if err != nil {
		return false
	}
	return p.Evaluate(policy.Request{Caller: policy.Caller{Service: service}, Action: "sts:AssumeRole", Resource: r.ARN}).Allowed()
}

// Delete removes a role. Outcomes: nil; ErrNoSuchRole; *ConflictError
// while managed policies are attached or inline policies remain (IAM
// makes the caller remove them first).
func (s *Service) Delete(ctx context.Context, name string) error {
	return s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := get(tx, name)
		if err != nil {
			return err
		}
		if len(r.Attached) > 0 {
			return &ConflictError{}
		}
		if len(r.Inline) > 0 {
			return &ConflictError{Inline: true}
		}
		return tx.Delete(key(name))
	})
}

// List returns the roles whose path starts with pathPrefix, ordered by
// name, starting after marker (a lower-cased name from a previous page),
// at most max of them, and the marker of the next page ("" at the end).
func (s *Service) List(ctx context.Context, pathPrefix, marker string, max int) ([]Role, string, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	var out []Role
	next := ""
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		out, next = nil, ""
		lower := []byte{table}
		if marker != "" {
			lower = append(key(marker), 0)
		}
		it, err := tx.NewIterator(lower, []byte{table + 1})
		if err != nil {
			return err
		}
		err = func() error {
			for ok := it.First(); ok; ok = it.Next() {
				v, err := it.Value()
				if err != nil {
					return err
				}
				var r Role
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("role record %q: %w", it.Key(), err)
				}
				if !strings.HasPrefix(r.Path, pathPrefix) {
					continue
				}
				if len(out) == max {
					next = strings.ToLower(out[len(out)-1].Name)
					return nil
				}
				out = append(out, r)
			}
			return nil
		}()
		return errors.Join(err, it.Close())
	})
	return out, next, err
}

// AttachPolicy records a managed policy ARN on the role (idempotent).
// Outcomes: nil; ErrNoSuchRole; *InvalidInputError for a string that is
// not an IAM policy ARN; *LimitError past 10 attached policies.
func (s *Service) AttachPolicy(ctx context.Context, name, policyARN string) error {
	if a, err := arn.Parse(policyARN); err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "policy/") {
		return &InvalidInputError{Message: "ARN " + policyARN + " is not valid."}
	}
	return s.modify(ctx, name, func(r *Role) error {
		for _, p := range r.Attached {
			if p == policyARN {
				return nil
			}
		}
		if len(r.Attached) >= MaxAttachedPolicies {
			return &LimitError{Message: fmt.Sprintf("Cannot exceed quota for PoliciesPerRole: %d", MaxAttachedPolicies)}
		}
		r.Attached = append(r.Attached, policyARN)
		return nil
	})
}

// DetachPolicy removes a managed policy ARN. Outcomes: nil; ErrNoSuchRole;
// ErrNoSuchPolicy when it is not attached.
func (s *Service) DetachPolicy(ctx context.Context, name, policyARN string) error {
	return s.modify(ctx, name, func(r *Role) error {
		for i, p := range r.Attached {
			if p == policyARN {
				r.Attached = append(r.Attached[:i:i], r.Attached[i+1:]...)
				return nil
			}
		}
		return ErrNoSuchPolicy
	})
}

// PutPolicy adds or replaces an inline policy. Outcomes: nil;
// ErrNoSuchRole; *ValidationError for a bad policy name;
// *MalformedPolicyError for a document that does not parse; *LimitError
// when all inline policies together pass 10,240 characters.
func (s *Service) PutPolicy(ctx context.Context, name, policyName, doc string) error {
	if len(policyName) < 1 || len(policyName) > MaxPolicyNameLen || !policyNamePattern.MatchString(policyName) {
		return &ValidationError{Field: "policyName", Value: policyName, Constraint: `Member must satisfy regular expression pattern: [\w+=,.@-]+`}
	}
	if doc == "" {
		return &ValidationError{Field: "policyDocument", Value: "null", Constraint: "Member must not be null"}
	}
	if err := checkIdentityPolicy(doc); err != nil {
		return err
	}
	return s.modify(ctx, name, func(r *Role) error {
		if r.Inline == nil {
			r.Inline = map[string]string{}
		}
		total := len(doc)
		for n, d := range r.Inline {
			if n != policyName {
				total += len(d)
			}
		}
		if total > MaxInlinePoliciesLen {
			return &LimitError{Message: fmt.Sprintf("Maximum policy size of %d bytes exceeded for role %s", MaxInlinePoliciesLen, r.Name)}
		}
		r.Inline[policyName] = doc
		return nil
	})
}

// GetPolicy returns an inline policy's document. Outcomes: the document;
// ErrNoSuchRole; ErrNoSuchPolicy.
func (s *Service) GetPolicy(ctx context.Context, name, policyName string) (string, error) {
	r, err := s.Get(ctx, name)
	if err != nil {
		return "", err
	}
	doc, ok := r.Inline[policyName]
	if !ok {
		return "", ErrNoSuchPolicy
	}
	return doc, nil
}

// DeletePolicy removes an inline policy. Outcomes: nil; ErrNoSuchRole;
// ErrNoSuchPolicy.
func (s *Service) DeletePolicy(ctx context.Context, name, policyName string) error {
	return s.modify(ctx, name, func(r *Role) error {
		if _, ok := r.Inline[policyName]; !ok {
			return ErrNoSuchPolicy
		}
		delete(r.Inline, policyName)
		return nil
	})
}

// PolicyNames returns the names of the role's inline policies, sorted.
func (r Role) PolicyNames() []string {
	names := make([]string, 0, len(r.Inline))
	for n := range r.Inline {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Service) modify(ctx context.Context, name string, fn func(*Role) error) error {
	return s.store.Update(ctx, func(tx storage.Tx) error {
		r, err := get(tx, name)
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		return put(tx, r)
	})
}

func get(tx storage.ReadTx, name string) (Role, error) {
	if name == "" {
		return Role{}, ErrNoSuchRole
	}
	v, err := tx.Get(key(name))
	if errors.Is(err, storage.ErrNotFound) {
		return Role{}, ErrNoSuchRole
	}
	if err != nil {
		return Role{}, err
	}
	var r Role
	if err := json.Unmarshal(v, &r); err != nil {
		return Role{}, fmt.Errorf("role record %q: %w", name, err)
	}
	return r, nil
}

func put(tx storage.Tx, r Role) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Set(key(r.Name), v)
}

// idAlphabet is what AWS unique ids (AROA..., ASIA...) are made of.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand documents it)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
