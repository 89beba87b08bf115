package awsproto

import (
	"regexp"
	"testing"
)

// TestNewRequestIDs: the pair has NewRequestID's and NewHostID's formats,
// and no id repeats over many draws.
func TestNewRequestIDs(t *testing.T) {
	idRE := regexp.MustCompile(`^[0-9A-F]{16}$`)
	hostRE := regexp.MustCompile(`^[A-Za-z0-9+/]{75}=$`) // 56 bytes: one pad
	seen := map[string]bool{}
	for range 1000 {
		id, host := NewRequestIDs()
		if !idRE.MatchString(id) {
			t.Fatalf("request id %q", id)
		}
		if !hostRE.MatchString(host) {
			t.Fatalf("host id %q (%d chars)", host, len(host))
		}
		if seen[id] || seen[host] {
			t.Fatalf("id repeated: %q %q", id, host)
		}
		seen[id], seen[host] = true, true
	}
}
