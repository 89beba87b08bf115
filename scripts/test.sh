#!/usr/bin/env bash
# Runs every test of Sluice: formatting and static checks, the Go tests
# (unit, conformance and end-to-end with aws-sdk-go-v2; the race detector on
# the concurrent packages), then the end-to-end suite that drives a real
# sluice binary with the installed AWS CLI and boto3.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt, go vet, staticcheck"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# A staticcheck release that knows the Go version in go.mod.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test (race detector on the concurrent packages)"
race_pkgs=$(go list ./internal/storage/... ./internal/object/...)
other_pkgs=$(go list ./... | grep -v -x -F "$race_pkgs")
go test -race -count=1 $race_pkgs
go test -count=1 $other_pkgs

echo "== end-to-end: the AWS CLI and boto3 against a real sluice"
mkdir -p bin
go build -o bin/sluice ./cmd/sluice
python3 e2e/run.py bin/sluice
