package event

import (
	"reflect"
	"testing"
)

func TestConfigurable(t *testing.T) {
	for _, n := range []Name{ObjectCreatedAll, ObjectCreatedPut, ObjectRemovedDeleteMarkerCreated, ReducedRedundancyLostObject,
		ObjectTaggingAll, ObjectAclPut, LifecycleExpirationAll, ReplicationAll, ObjectRestoreDelete, IntelligentTiering} {
		if !Configurable(n) {
			t.Errorf("Configurable(%q) = false", n)
		}
	}
	for _, n := range []Name{"", "s3:ObjectCreated", "s3:ObjectCreated:put", "ObjectCreated:Put", "s3:*", "s3:ObjectAcl:*",
		"s3:TestEvent", "s3:ObjectCreated:Put ", "s3:LifecycleTransition:*", "s3:ObjectCreated:**"} {
		if Configurable(n) {
			t.Errorf("Configurable(%q) = true", n)
		}
	}
}

func TestExpand(t *testing.T) {
	cases := []struct {
		in   Name
		want []Name
	}{
		{ObjectCreatedAll, []Name{ObjectCreatedPut, ObjectCreatedPost, ObjectCreatedCopy, ObjectCreatedCompleteMultipartUpload}},
		{ObjectRemovedAll, []Name{ObjectRemovedDelete, ObjectRemovedDeleteMarkerCreated}},
		{ObjectTaggingAll, []Name{ObjectTaggingPut, ObjectTaggingDelete}},
		{ObjectRestoreAll, []Name{ObjectRestorePost, ObjectRestoreCompleted, ObjectRestoreDelete}},
		{LifecycleExpirationAll, []Name{LifecycleExpirationDelete, LifecycleExpirationDeleteMarkerCreated}},
		{ObjectCreatedPut, []Name{ObjectCreatedPut}},
		{"s3:Bogus:*", nil},
	}
	for _, tc := range cases {
		if got := Expand(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Expand(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := len(Expand(ReplicationAll)); got != 4 {
		t.Errorf("Expand(Replication:*) has %d members, want 4", got)
	}
}

func TestCovers(t *testing.T) {
	cases := []struct {
		cfg, actual Name
		want        bool
	}{
		{ObjectCreatedAll, ObjectCreatedPut, true},
		{ObjectCreatedAll, ObjectCreatedCompleteMultipartUpload, true},
		{ObjectCreatedPut, ObjectCreatedPut, true},
		{ObjectCreatedPut, ObjectCreatedPost, false},
		{ObjectCreatedAll, ObjectRemovedDelete, false},
		{ObjectRemovedAll, ObjectRemovedDeleteMarkerCreated, true},
		{ObjectTaggingAll, ObjectTaggingDelete, true},
		{"s3:Bogus:*", "s3:Bogus:Put", false},
	}
	for _, tc := range cases {
		if got := Covers(tc.cfg, tc.actual); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.cfg, tc.actual, got, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	// aws-facts.md section 3.
	cases := map[Name]string{
		ObjectCreatedPut: "2.1", ObjectCreatedCompleteMultipartUpload: "2.1", ObjectRemovedDelete: "2.1",
		ObjectRemovedDeleteMarkerCreated: "2.1", ObjectRestorePost: "2.1", ObjectRestoreCompleted: "2.1",
		ObjectRestoreDelete: "2.3", ReducedRedundancyLostObject: "2.1",
		ReplicationOperationFailedReplication: "2.2", LifecycleTransition: "2.3", IntelligentTiering: "2.3",
		ObjectAclPut: "2.3", LifecycleExpirationDelete: "2.3", ObjectTaggingPut: "2.3", ObjectTaggingDelete: "2.3",
	}
	for n, want := range cases {
		if got := n.Version(); got != want {
			t.Errorf("%s.Version() = %q, want %q", n, got, want)
		}
	}
	if ObjectCreatedPut.RecordName() != "ObjectCreated:Put" {
		t.Errorf("RecordName = %q", ObjectCreatedPut.RecordName())
	}
}
