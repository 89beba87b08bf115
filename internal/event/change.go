package event

import (
	"context"
	"time"
)

// Change is one object change as the domain that made it reports it to the
// notification path, inside the transaction that commits the change, so
// that the change and its event records commit together (DESIGN.md,
// Events, step 2). The publisher turns it into Records for the matching
// destinations of the bucket's configuration.
type Change struct {
	Name      Name // the concrete event, e.g. ObjectCreatedPut
	Bucket    string
	Key       string
	Size      int64  // for the event types that carry it
	ETag      string // hex, no quotes
	VersionID string // "" while the bucket is unversioned
	Time      time.Time
}

// Origin is who caused a change: the request that made it and its
// requester, as the S3 edge knows them. It travels in the request's
// context, like the request id, so that every operation reports the same
// origin without each input type carrying it.
type Origin struct {
	// RequestID and HostID are the x-amz-request-id and x-amz-id-2 the
	// triggering response carries (the record's responseElements).
	RequestID string
	HostID    string
	// PrincipalID is the requester (the record's userIdentity.principalId).
	PrincipalID string
	// SourceIP is the client's address (requestParameters.sourceIPAddress).
	SourceIP string
	// Lineage is what caused the request, beyond the request itself (an
	// invocation chain when a function made it).
	Lineage Lineage
}

type originKey struct{}

// WithOrigin returns ctx carrying o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the origin ctx carries, if any.
func OriginFrom(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}
