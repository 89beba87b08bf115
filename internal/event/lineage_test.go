package event

import (
	"slices"
	"testing"
)

func TestLineageThen(t *testing.T) {
	root := Lineage{RequestID: "REQ", TraceID: "Root=1-a-b"}
	first := root.Then("inv1", "Root=1-c-d")
	if first.RequestID != "REQ" || first.TraceID != "Root=1-a-b" || !slices.Equal(first.Chain, []string{"inv1"}) {
		t.Fatalf("root.Then = %+v, want request REQ, the root's trace, chain [inv1]", first)
	}
	second := first.Then("inv2", "ignored")
	if second.RequestID != "REQ" || !slices.Equal(second.Chain, []string{"inv1", "inv2"}) {
		t.Fatalf("first.Then = %+v, want request REQ, chain [inv1 inv2]", second)
	}
	if !slices.Equal(first.Chain, []string{"inv1"}) {
		t.Fatalf("Then changed its receiver's chain: %v", first.Chain)
	}
	direct := Lineage{}.Then("inv9", "Root=1-e-f")
	if direct.RequestID != "inv9" || direct.TraceID != "Root=1-e-f" || !slices.Equal(direct.Chain, []string{"inv9"}) {
		t.Fatalf("Lineage{}.Then = %+v, want the invocation as its own root", direct)
	}
}
