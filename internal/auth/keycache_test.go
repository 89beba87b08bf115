package auth

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// mutableKeyring lets a test rotate a secret under the same access key.
type mutableKeyring struct {
	mu    sync.Mutex
	creds Credentials
}

func (k *mutableKeyring) Lookup(id string) (Credentials, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.creds, id == k.creds.AccessKeyID
}

// The signing key cache is keyed by the secret too: after a secret
// changes, a request signed with the old one no longer verifies, and one
// signed with the new one does.
func TestSigningKeyCacheFollowsSecret(t *testing.T) {
	keys := &mutableKeyring{creds: rootCred}
	v := &Verifier{Keys: keys, Clock: newVerifier(t0).Clock}
	signed := func(c Credentials) *http.Request {
		r := mustReq(t, http.MethodGet, "http://127.0.0.1:9000/bkt/key", nil)
		signS3(t, r, c, emptySHA256, t0)
		return r
	}
	old := signed(rootCred)
	for i := 0; i < 2; i++ { // the second time from the cache
		if _, err := v.Verify(old); err != nil {
			t.Fatalf("verify %d with the current secret: %v", i, err)
		}
	}
	rotated := rootCred
	rotated.SecretAccessKey = "another/secret+for+the+same+key"
	keys.mu.Lock()
	keys.creds = rotated
	keys.mu.Unlock()
	_, err := v.Verify(old)
	wantCode(t, "old secret after rotation", err, "SignatureDoesNotMatch", http.StatusForbidden)
	if _, err := v.Verify(signed(rotated)); err != nil {
		t.Fatalf("verify with the new secret: %v", err)
	}
}

// The cache hands out the derived key and stays bounded.
func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	for i := 0; i < 3*maxCachedKeys; i++ {
		date := fmt.Sprintf("2026%04d", i)
		got := c.get("secret", date, "us-east-1", "s3")
		if want := DerivedKey("secret", date, "us-east-1", "s3"); !bytes.Equal(got, want) {
			t.Fatalf("key for %s = %x, want %x", date, got, want)
		}
		if n := len(c.m); n > maxCachedKeys {
			t.Fatalf("after %d scopes the cache holds %d keys, more than %d", i+1, n, maxCachedKeys)
		}
	}
	if again := c.get("secret", "20260000", "us-east-1", "s3"); !bytes.Equal(again, DerivedKey("secret", "20260000", "us-east-1", "s3")) {
		t.Errorf("re-derived key differs")
	}
}
