package event

import "strings"

// Name is an S3 event type as a notification configuration spells it, with
// the "s3:" prefix: "s3:ObjectCreated:Put", or a wildcard such as
// "s3:ObjectCreated:*". A record carries the name without the prefix (see
// Name.RecordName).
type Name string

// The event types S3 publishes, as listed by the S3 API reference
// (QueueConfiguration, Events: valid values) and the Ruby SDK's enum. The
// wildcards are configuration-only: a record always names one concrete type.
const (
	ObjectCreatedAll                     Name = "s3:ObjectCreated:*"
	ObjectCreatedPut                     Name = "s3:ObjectCreated:Put"
	ObjectCreatedPost                    Name = "s3:ObjectCreated:Post"
	ObjectCreatedCopy                    Name = "s3:ObjectCreated:Copy"
	ObjectCreatedCompleteMultipartUpload Name = "s3:ObjectCreated:CompleteMultipartUpload"

	ObjectRemovedAll                 Name = "s3:ObjectRemoved:*"
	ObjectRemovedDelete              Name = "s3:ObjectRemoved:Delete"
	ObjectRemovedDeleteMarkerCreated Name = "s3:ObjectRemoved:DeleteMarkerCreated"

	ObjectRestoreAll       Name = "s3:ObjectRestore:*"
	ObjectRestorePost      Name = "s3:ObjectRestore:Post"
	ObjectRestoreCompleted Name = "s3:ObjectRestore:Completed"
	ObjectRestoreDelete    Name = "s3:ObjectRestore:Delete"

	ReducedRedundancyLostObject Name = "s3:ReducedRedundancyLostObject"

	ReplicationAll                               Name = "s3:Replication:*"
	ReplicationOperationFailedReplication        Name = "s3:Replication:OperationFailedReplication"
	ReplicationOperationNotTracked               Name = "s3:Replication:OperationNotTracked"
	ReplicationOperationMissedThreshold          Name = "s3:Replication:OperationMissedThreshold"
	ReplicationOperationReplicatedAfterThreshold Name = "s3:Replication:OperationReplicatedAfterThreshold"

	LifecycleTransition Name = "s3:LifecycleTransition"
	IntelligentTiering  Name = "s3:IntelligentTiering"
	ObjectAclPut        Name = "s3:ObjectAcl:Put"

	LifecycleExpirationAll                 Name = "s3:LifecycleExpiration:*"
	LifecycleExpirationDelete              Name = "s3:LifecycleExpiration:Delete"
	LifecycleExpirationDeleteMarkerCreated Name = "s3:LifecycleExpiration:DeleteMarkerCreated"

	ObjectTaggingAll    Name = "s3:ObjectTagging:*"
	ObjectTaggingPut    Name = "s3:ObjectTagging:Put"
	ObjectTaggingDelete Name = "s3:ObjectTagging:Delete"

	// TestEvent is the type of the message S3 sends when a configuration is
	// saved. It is not a configurable event type and has its own flat
	// payload (see TestMessage).
	TestEvent Name = "s3:TestEvent"
)

// concrete lists every concrete (non-wildcard) event type, in the order of
// the S3 API reference; wildcard expansion returns its members in this order.
var concrete = [...]Name{
	ReducedRedundancyLostObject,
	ObjectCreatedPut, ObjectCreatedPost, ObjectCreatedCopy, ObjectCreatedCompleteMultipartUpload,
	ObjectRemovedDelete, ObjectRemovedDeleteMarkerCreated,
	ObjectRestorePost, ObjectRestoreCompleted, ObjectRestoreDelete,
	ReplicationOperationFailedReplication, ReplicationOperationNotTracked,
	ReplicationOperationMissedThreshold, ReplicationOperationReplicatedAfterThreshold,
	LifecycleTransition, IntelligentTiering, ObjectAclPut,
	LifecycleExpirationDelete, LifecycleExpirationDeleteMarkerCreated,
	ObjectTaggingPut, ObjectTaggingDelete,
}

// wildcards lists the "family:*" names S3 accepts.
var wildcards = [...]Name{
	ObjectCreatedAll, ObjectRemovedAll, ObjectRestoreAll, ReplicationAll,
	LifecycleExpirationAll, ObjectTaggingAll,
}

// Concrete returns every concrete event type S3 defines (no wildcards).
func Concrete() []Name { return append([]Name(nil), concrete[:]...) }

// Configurable reports whether n is an event type a notification
// configuration may name: a concrete type or one of the family wildcards.
// Names are case-sensitive, as in S3 (the API's enum is exact).
func Configurable(n Name) bool {
	for _, c := range concrete {
		if c == n {
			return true
		}
	}
	for _, w := range wildcards {
		if w == n {
			return true
		}
	}
	return false
}

// IsWildcard reports whether n ends in ":*".
func (n Name) IsWildcard() bool { return strings.HasSuffix(string(n), ":*") }

// Expand returns the concrete types n stands for: n itself for a concrete
// type, every member of the family for a wildcard, nil for an unknown name.
func Expand(n Name) []Name {
	if !Configurable(n) {
		return nil
	}
	if !n.IsWildcard() {
		return []Name{n}
	}
	family := strings.TrimSuffix(string(n), "*")
	var out []Name
	for _, c := range concrete {
		if strings.HasPrefix(string(c), family) {
			out = append(out, c)
		}
	}
	return out
}

// Covers reports whether a configuration naming configured (concrete or
// wildcard) receives events of the concrete type actual.
func Covers(configured, actual Name) bool {
	if configured == actual {
		return true
	}
	if !configured.IsWildcard() || !Configurable(configured) {
		return false
	}
	return strings.HasPrefix(string(actual), strings.TrimSuffix(string(configured), "*")) && !actual.IsWildcard()
}

// RecordName is the eventName a record carries: the name without "s3:".
func (n Name) RecordName() string { return strings.TrimPrefix(string(n), "s3:") }

// Version is the eventVersion S3 writes for records of type n
// (aws-facts.md section 3, from S3's content-structure page and the
// AWS-recorded snapshots): 2.2 for replication, 2.3 for lifecycle,
// intelligent-tiering, ACL, tagging and restore-delete events, 2.1 for the
// rest.
func (n Name) Version() string {
	switch {
	case strings.HasPrefix(string(n), "s3:Replication:"):
		return "2.2"
	case strings.HasPrefix(string(n), "s3:LifecycleExpiration:"),
		n == LifecycleTransition, n == IntelligentTiering, n == ObjectAclPut,
		strings.HasPrefix(string(n), "s3:ObjectTagging:"), n == ObjectRestoreDelete:
		return "2.3"
	default:
		return "2.1"
	}
}

// objectFields says which members of s3.object a record of type n carries,
// as recorded on AWS (aws-facts.md section 3): removals and lifecycle
// expirations carry neither size nor eTag; tagging and ACL events carry the
// eTag but neither size nor sequencer.
func (n Name) objectFields() (size, etag, sequencer bool) {
	switch {
	case strings.HasPrefix(string(n), "s3:ObjectRemoved:"),
		strings.HasPrefix(string(n), "s3:LifecycleExpiration:"),
		n == ObjectRestoreDelete:
		return false, false, true
	case strings.HasPrefix(string(n), "s3:ObjectTagging:"), n == ObjectAclPut:
		return false, true, false
	default:
		return true, true, true
	}
}
