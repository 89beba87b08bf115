package role

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"sluice/internal/clock"
)

// Session is an assumed-role session: the temporary credentials Sluice
// hands a function instance (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), acting as the function's role under the function's
// name, as Lambda's own sessions do.
type Session struct {
	AccessKeyID     string // ASIA + 16 characters, like STS's
	SecretAccessKey string
	SessionToken    string
	Account         string
	RoleName        string
	RoleID          string
	RoleARN         string
	Name            string // the session name: the function's name
	Issued          time.Time
	// Expiration is what the session reports (the role's maximum session
	// duration from minting). Sessions are revoked when their instance
	// stops, not when this passes: a warm instance keeps its environment
	// for its whole life, as on Lambda, where the runtime never refreshes
	// the variables.
	Expiration time.Time
}

// ARN is the session's identity as STS GetCallerIdentity reports it:
// arn:aws:sts::<account>:assumed-role/<role name>/<session name>.
func (s Session) ARN() string {
	return "arn:aws:sts::" + s.Account + ":assumed-role/" + s.RoleName + "/" + s.Name
}

// UserID is GetCallerIdentity's UserId for the session: <role id>:<session name>.
func (s Session) UserID() string { return s.RoleID + ":" + s.Name }

// Principal is the principal id of the session in S3 event records and
// request contexts: AWS:<role id>:<session name> (DESIGN "Functions").
func (s Session) Principal() string { return "AWS:" + s.UserID() }

// Sessions holds the sessions minted and not yet revoked. They are kept
// in memory only: every instance, and so every session, ends with the
// server. Which invocation a session's instance is serving is the function
// domain's to know (function.Service.CurrentInvocation).
type Sessions struct {
	clock clock.Clock
	mu    sync.RWMutex
	keys  map[string]*sessionEntry
}

type sessionEntry struct {
	Session
}

// NewSessions returns an empty session table.
func NewSessions(c clock.Clock) *Sessions {
	if c == nil {
		c = clock.Real{}
	}
	return &Sessions{clock: c, keys: map[string]*sessionEntry{}}
}

// Mint creates a session of role r named sessionName.
func (t *Sessions) Mint(r Role, account, sessionName string) Session {
	secret := make([]byte, 30)
	rand.Read(secret)
	token := make([]byte, 96)
	rand.Read(token)
	maxSecs := r.MaxSession
	if maxSecs == 0 {
		maxSecs = DefaultSessionSecs
	}
	s := Session{
		AccessKeyID:     "ASIA" + randomID(16),
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret),
		SessionToken:    base64.StdEncoding.EncodeToString(token),
		Account:         account,
		RoleName:        r.Name,
		RoleID:          r.ID,
		RoleARN:         r.ARN,
		Name:            sessionName,
		Issued:          t.clock.Now().UTC(),
		Expiration:      t.clock.Now().UTC().Add(time.Duration(maxSecs) * time.Second).Truncate(time.Second),
	}
	t.mu.Lock()
	t.keys[s.AccessKeyID] = &sessionEntry{Session: s}
	t.mu.Unlock()
	return s
}

// Lookup returns the session of an access key id, if it is live.
func (t *Sessions) Lookup(accessKeyID string) (Session, bool) {
	t.mu.RLock()
	e, ok := t.keys[accessKeyID]
	t.mu.RUnlock()
	if !ok {
		return Session{}, false
	}
	return e.Session, true
}

// Revoke ends a session: its key is refused from then on. Revoking an
// unknown key does nothing.
func (t *Sessions) Revoke(accessKeyID string) {
	t.mu.Lock()
	delete(t.keys, accessKeyID)
	t.mu.Unlock()
}

// Prune revokes every session keep returns false for. The server calls
// it with "the instance is gone", so that sessions of stopped instances do
// not pile up.
func (t *Sessions) Prune(keep func(Session) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.keys {
		if !keep(e.Session) {
			delete(t.keys, k)
		}
	}
}

// Len is the number of live sessions.
func (t *Sessions) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// Assume mints a session of the role roleARN names for a function.
// Outcomes: the session; ErrNoSuchRole when the role does not exist;
// ErrNotAssumable when its trust policy does not let Lambda assume it.
func (s *Service) Assume(ctx context.Context, sessions *Sessions, roleARN, sessionName string) (Session, error) {
	r, err := s.ByARN(ctx, roleARN)
	if err != nil {
		return Session{}, fmt.Errorf("assume %s: %w", roleARN, err)
	}
	if !r.AssumableBy(LambdaPrincipal) {
		return Session{}, fmt.Errorf("assume %s: %w", roleARN, ErrNotAssumable)
	}
	return sessions.Mint(r, s.account, sessionName), nil
}

// LambdaPrincipal is the service principal a function role's trust policy
// must allow.
const LambdaPrincipal = "lambda.amazonaws.com"

// ErrNotAssumable: the role's trust policy does not allow the service to
// assume it.
var ErrNotAssumable = fmt.Errorf("role cannot be assumed by %s", LambdaPrincipal)
