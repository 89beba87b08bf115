package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"

	"sluice/internal/arn"
	"sluice/internal/storage"
)

// Versions and aliases (Lambda Developer Guide, "Lambda function versions"
// and "Lambda function aliases").
//
// A published version is an immutable copy of the $LATEST record (code
// blob, configuration) stored under "Fv/<name>/<10-digit number>"; it holds
// its own reference to the code blob, so UpdateFunctionCode on $LATEST
// never changes what a version runs. Its resource policy is its own, as
// Lambda keeps one policy per qualifier. An alias is "Fa/<name>/<alias>":
// the version it points at, an optional routing weight to a second version,
// and its own policy. Names are [a-zA-Z0-9-_] so '/' separates them.
const (
	versionPrefix = "Fv/"
	aliasPrefix   = "Fa/"
)

func versionKey(name string, n int) []byte {
	return fmt.Appendf(nil, "%s%s/%010d", versionPrefix, name, n)
}

func aliasKey(name, alias string) []byte { return []byte(aliasPrefix + name + "/" + alias) }

// aliasRecord is an alias as stored (JSON).
type aliasRecord struct {
	Name        string             `json:"name"`
	Function    string             `json:"fn"`
	Version     string             `json:"ver"` // "$LATEST" or a number
	Description string             `json:"desc,omitempty"`
	Weights     map[string]float64 `json:"weights,omitempty"`
	RevisionID  string             `json:"rev"`
	Policy      string             `json:"policy,omitempty"`
}

// Alias is Lambda's AliasConfiguration, with its JSON names.
type Alias struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *RoutingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string         `json:"RevisionId"`
}

// RoutingConfig sends a share of an alias's invocations to a second
// version (weights 0.0 to 1.0).
type RoutingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

// AliasInput is CreateAlias' and UpdateAlias' request. For UpdateAlias nil
// fields are left as they are; a RoutingConfig with no weights clears them.
type AliasInput struct {
	FunctionVersion *string
	Description     *string
	RoutingConfig   *RoutingConfig
	RevisionId      string // UpdateAlias only: must equal the alias's RevisionId
}

var (
	aliasRE   = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)
	versionRE = regexp.MustCompile(`^[0-9]{1,10}$`)
)

func isVersionNumber(q string) bool { return versionRE.MatchString(q) }

func (s *Service) qualifiedARN(name, q string) string {
	return arn.Function(s.region, s.acct, name, q).String()
}

func (s *Service) aliasOut(a *aliasRecord) Alias {
	out := Alias{AliasArn: s.qualifiedARN(a.Function, a.Name), Name: a.Name, FunctionVersion: a.Version,
		Description: a.Description, RevisionId: a.RevisionID}
	if len(a.Weights) > 0 {
		w := make(map[string]float64, len(a.Weights))
		for k, v := range a.Weights {
			w[k] = v
		}
		out.RoutingConfig = &RoutingConfig{AdditionalVersionWeights: w}
	}
	return out
}

// getVersion reads published version n of name.
func (s *Service) getVersion(tx storage.ReadTx, name, q string) (*record, error) {
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 {
		return nil, newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, q))
	}
	v, err := tx.Get(versionKey(name, n))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, q))
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("function: decode version %s:%s: %w", name, q, err)
	}
	return &r, nil
}

func (s *Service) getAlias(tx storage.ReadTx, name, alias string) (*aliasRecord, error) {
	v, err := tx.Get(aliasKey(name, alias))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, newErr(ErrNotFound, "Alias not found: %s", s.qualifiedARN(name, alias))
	}
	if err != nil {
		return nil, err
	}
	var a aliasRecord
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, fmt.Errorf("function: decode alias %s:%s: %w", name, alias, err)
	}
	return &a, nil
}

func putAlias(tx storage.Tx, a *aliasRecord) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return tx.Set(aliasKey(a.Function, a.Name), v)
}

// target reads the record a qualifier names: $LATEST ("" or "$LATEST"), a
// published version, or an alias (then the alias record too, and the
// version it points at; with routing weights the version is drawn by
// weight, as Lambda does per invocation when pick is set). The function
// must exist whatever the qualifier (ResourceNotFoundException naming the
// unqualified function otherwise).
//
// With pick (Invoke), $LATEST's record is shared (getShared): the caller
// must not modify it.
func (s *Service) target(tx storage.ReadTx, name, q string, pick bool) (*record, *aliasRecord, error) {
	get := s.get
	if pick {
		get = s.getShared
	}
	latest, err := get(tx, name)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case q == "" || q == Version:
		return latest, nil, nil
	case isVersionNumber(q):
		r, err := s.getVersion(tx, name, q)
		return r, nil, err
	}
	a, err := s.getAlias(tx, name, q)
	if err != nil {
		// Lambda words a missing qualifier on Invoke/GetFunction as a
		// missing function with the qualified ARN.
		return nil, nil, newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, q))
	}
	ver := a.Version
	if pick && len(a.Weights) > 0 {
		x := rand.Float64()
		for _, k := range sortedKeys(a.Weights) {
			if x < a.Weights[k] {
				ver = k
				break
			}
			x -= a.Weights[k]
		}
	}
	if ver == Version {
		return latest, a, nil
	}
	r, err := s.getVersion(tx, name, ver)
	return r, a, err
}

// loadTarget is target in its own snapshot.
func (s *Service) loadTarget(ctx context.Context, name, q string, pick bool) (r *record, a *aliasRecord, err error) {
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		r, a, err = s.target(tx, name, q, pick)
		return err
	})
	return r, a, err
}

// snapshotOf names what a publish copies: two publishes of an unchanged
// $LATEST give the same version (Lambda's PublishVersion: "Lambda doesn't
// publish a version if the function's configuration and code haven't
// changed since the last version").
func snapshotOf(r *record) string {
	return generation(&record{Blob: r.Blob, Runtime: r.Runtime, Handler: r.Handler, Role: r.Role,
		Timeout: r.Timeout, MemorySize: r.MemorySize, Env: r.Env}) + "|" + r.CodeSha256
}

// PublishVersion copies $LATEST into a new numbered version (1, 2, ...)
// and returns its configuration. When $LATEST has not changed since the
// last version, that version is returned and nothing is published.
// codeSha256, when set, must equal $LATEST's CodeSha256
// (InvalidParameterValueException); revision, when set, its RevisionId
// (PreconditionFailedException). description is the version's own
// (default: $LATEST's description).
func (s *Service) PublishVersion(ctx context.Context, fn, codeSha256, description, revision string) (Configuration, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return Configuration{}, err
	}
	if len(description) > 256 {
		return Configuration{}, newErr(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	now := s.clock.Now().UnixMilli()
	var out *record
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		out = nil
		r, err := s.get(tx, name)
		if err != nil {
			return err
		}
		if revision != "" && revision != r.RevisionID {
			return newErr(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if codeSha256 != "" && codeSha256 != r.CodeSha256 {
			return invalid("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSha256, r.CodeSha256)
		}
		if r.LastVersion > 0 {
			last, err := s.getVersion(tx, name, strconv.Itoa(r.LastVersion))
			if err == nil && snapshotOf(last) == snapshotOf(r) {
				out = last
				return nil
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		n := r.LastVersion + 1
		v := *r
		v.Version = strconv.Itoa(n)
		v.LastVersion = 0
		v.Policy = "" // a version's policy is its own
		v.Tags = nil  // tags belong to the function
		v.Reserved = nil
		v.Modified = now
		v.RevisionID = newRevisionID()
		if description != "" {
			v.Description = description
		}
		raw, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		key := versionKey(name, n)
		if err := tx.RefBlob(v.Blob, key); err != nil {
			return err
		}
		if err := tx.Set(key, raw); err != nil {
			return err
		}
		r.LastVersion = n
		out = &v
		return put(tx, r)
	})
	if err != nil {
		return Configuration{}, err
	}
	s.log.Info("function version published", "function", name, "version", out.Version)
	return s.configuration(out), nil
}

// ListVersions is ListVersionsByFunction: $LATEST first, then the
// published versions in order, up to max (1..50; 0 means 50) after
// marker (the NextMarker of the previous page: a version, or $LATEST).
func (s *Service) ListVersions(ctx context.Context, fn, marker string, max int) ([]Configuration, string, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return nil, "", err
	}
	if max < 0 {
		return nil, "", newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", max)
	}
	if max == 0 || max > 50 {
		max = 50
	}
	var out []Configuration
	next := ""
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		out, next = nil, ""
		latest, err := s.get(tx, name)
		if err != nil {
			return err
		}
		if marker == "" {
			c := s.configuration(latest)
			c.FunctionArn = s.qualifiedARN(name, Version)
			out = append(out, c)
		}
		start := versionKey(name, 0)
		if marker != "" && marker != Version {
			n, err := strconv.Atoi(marker)
			if err != nil {
				return invalid("Invalid Marker: %s", marker)
			}
			start = versionKey(name, n+1)
		}
		it, err := tx.NewIterator(start, []byte(versionPrefix+name+"0"))
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			if len(out) == max {
				next = out[len(out)-1].Version
				break
			}
			v, err := it.Value()
			if err != nil {
				return err
			}
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
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

// deleteVersion removes published version q of name (DeleteFunction with
// a version Qualifier). An alias that points at it refuses the delete
// (ResourceConflictException), as Lambda does.
func (s *Service) deleteVersion(ctx context.Context, name, q string) error {
	if !isVersionNumber(q) {
		if q == Version {
			return invalid("$LATEST version cannot be deleted without deleting the function.")
		}
		return invalid("Deletion of aliases is not supported. Use DeleteAlias to delete %s", s.qualifiedARN(name, q))
	}
	return s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		r, err := s.getVersion(tx, name, q)
		if err != nil {
			return err
		}
		aliases, err := s.aliases(tx, name)
		if err != nil {
			return err
		}
		for _, a := range aliases {
			if a.Version == q {
				return newErr(ErrConflict, "Unable to delete version because the following aliases reference it: [%s]", a.Name)
			}
			if _, ok := a.Weights[q]; ok {
				return newErr(ErrConflict, "Unable to delete version because the following aliases reference it: [%s]", a.Name)
			}
		}
		n, _ := strconv.Atoi(r.Version)
		key := versionKey(name, n)
		if err := tx.UnrefBlob(r.Blob, key); err != nil {
			return err
		}
		return tx.Delete(key)
	})
}

// deleteAllVersions removes every version and alias of name in tx
// (DeleteFunction without a qualifier).
func (s *Service) deleteAllVersions(tx storage.Tx, name string) error {
	var keys [][]byte
	var blobs []storage.BlobID
	it, err := tx.NewIterator([]byte(versionPrefix+name+"/"), []byte(versionPrefix+name+"0"))
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return err
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			it.Close()
			return err
		}
		keys = append(keys, append([]byte(nil), it.Key()...))
		blobs = append(blobs, r.Blob)
	}
	if err := it.Close(); err != nil {
		return err
	}
	for i, k := range keys {
		if err := tx.UnrefBlob(blobs[i], k); err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	aliases, err := s.aliases(tx, name)
	if err != nil {
		return err
	}
	for _, a := range aliases {
		if err := tx.Delete(aliasKey(name, a.Name)); err != nil {
			return err
		}
	}
	return nil
}

// aliases reads every alias of name, in name order.
func (s *Service) aliases(tx storage.ReadTx, name string) ([]*aliasRecord, error) {
	it, err := tx.NewIterator([]byte(aliasPrefix+name+"/"), []byte(aliasPrefix+name+"0"))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*aliasRecord
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			return nil, err
		}
		var a aliasRecord
		if err := json.Unmarshal(v, &a); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, it.Close()
}

// checkAlias validates an alias's target and routing weights inside tx.
func (s *Service) checkAlias(tx storage.ReadTx, name, version string, weights map[string]float64) error {
	if version != Version {
		if !isVersionNumber(version) {
			return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)", version)
		}
		if _, err := s.getVersion(tx, name, version); err != nil {
			return newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, version))
		}
	}
	if len(weights) == 0 {
		return nil
	}
	if len(weights) > 1 {
		return invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	if version == Version {
		return invalid("$LATEST is not supported for an alias pointing to more than 1 version")
	}
	sum := 0.0
	for v, w := range weights {
		if !isVersionNumber(v) {
			return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]", v)
		}
		if w < 0 || w > 1 {
			return newErr(ErrValidation, "1 validation error detected: Value '%v' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]", w)
		}
		if v == version {
			return invalid("Invalid function version %s. Function version %s is already included in routing configuration.", v, v)
		}
		if _, err := s.getVersion(tx, name, v); err != nil {
			return invalid("Function not found: %s", s.qualifiedARN(name, v))
		}
		sum += w
	}
	if sum > 1 {
		return invalid("The sum of the AdditionalVersionWeights cannot exceed 1.0")
	}
	return nil
}

func validAliasName(alias string) error {
	if !aliasRE.MatchString(alias) || isVersionNumber(alias) {
		return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", alias)
	}
	return nil
}

// CreateAlias creates alias pointing at in.FunctionVersion ($LATEST or a
// published version). ErrConflict when the alias exists ("Alias already
// exists: <arn>"), ErrNotFound for a missing function or version,
// ErrValidation/ErrInvalidParameter for bad names and weights.
func (s *Service) CreateAlias(ctx context.Context, fn, alias string, in AliasInput) (Alias, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return Alias{}, err
	}
	if err := validAliasName(alias); err != nil {
		return Alias{}, err
	}
	if in.FunctionVersion == nil || *in.FunctionVersion == "" {
		return Alias{}, newErr(ErrValidation, "1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	a := &aliasRecord{Name: alias, Function: name, Version: *in.FunctionVersion, RevisionID: newRevisionID()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if len(a.Description) > 256 {
		return Alias{}, newErr(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if in.RoutingConfig != nil && len(in.RoutingConfig.AdditionalVersionWeights) > 0 {
		a.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		if _, err := tx.Get(aliasKey(name, alias)); err == nil {
			return newErr(ErrConflict, "Alias already exists: %s", s.qualifiedARN(name, alias))
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := s.checkAlias(tx, name, a.Version, a.Weights); err != nil {
			return err
		}
		return putAlias(tx, a)
	})
	if err != nil {
		return Alias{}, err
	}
	return s.aliasOut(a), nil
}

// GetAlias returns the alias. ErrNotFound for a missing function or alias.
func (s *Service) GetAlias(ctx context.Context, fn, alias string) (Alias, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return Alias{}, err
	}
	var a *aliasRecord
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		a, err = s.getAlias(tx, name, alias)
		return err
	})
	if err != nil {
		return Alias{}, err
	}
	return s.aliasOut(a), nil
}

// UpdateAlias changes the alias's version, description or routing.
// ErrNotFound, ErrPreconditionFailed for a stale RevisionId, and the
// checks of CreateAlias.
func (s *Service) UpdateAlias(ctx context.Context, fn, alias string, in AliasInput) (Alias, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return Alias{}, err
	}
	if in.Description != nil && len(*in.Description) > 256 {
		return Alias{}, newErr(ErrValidation, "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	var out *aliasRecord
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		a, err := s.getAlias(tx, name, alias)
		if err != nil {
			return err
		}
		if in.RevisionId != "" && in.RevisionId != a.RevisionID {
			return newErr(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if in.FunctionVersion != nil && *in.FunctionVersion != "" {
			a.Version = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.Weights = in.RoutingConfig.AdditionalVersionWeights
			if len(a.Weights) == 0 {
				a.Weights = nil
			}
		}
		if err := s.checkAlias(tx, name, a.Version, a.Weights); err != nil {
			return err
		}
		a.RevisionID = newRevisionID()
		out = a
		return putAlias(tx, a)
	})
	if err != nil {
		return Alias{}, err
	}
	return s.aliasOut(out), nil
}

// DeleteAlias removes the alias (and its policy). Deleting a missing alias
// succeeds, as on Lambda; a missing function is ErrNotFound.
func (s *Service) DeleteAlias(ctx context.Context, fn, alias string) error {
	name, err := s.resolve(fn, "")
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		return tx.Delete(aliasKey(name, alias))
	})
}

// ListAliases returns the function's aliases in name order, only those
// pointing at functionVersion when it is set, up to max (1..50; 0 = 50)
// after marker (the NextMarker of the previous page, an alias name).
func (s *Service) ListAliases(ctx context.Context, fn, functionVersion, marker string, max int) ([]Alias, string, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return nil, "", err
	}
	if max < 0 {
		return nil, "", newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", max)
	}
	if max == 0 || max > 50 {
		max = 50
	}
	var all []*aliasRecord
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		all, err = s.aliases(tx, name)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := []Alias{}
	next := ""
	for _, a := range all {
		if marker != "" && a.Name <= marker {
			continue
		}
		if functionVersion != "" && a.Version != functionVersion {
			continue
		}
		if len(out) == max {
			next = out[len(out)-1].Name
			break
		}
		out = append(out, s.aliasOut(a))
	}
	return out, next, nil
}

// policyOwner reads and updates the resource policy of one qualifier:
// $LATEST's lives in the function record, a version's in its own record,
// an alias's in the alias record (Lambda keeps a policy per qualifier).
type policyOwner struct {
	get func() (doc string, rev string)
	set func(doc string) error
}

// ownerOf finds the policy owner of name:q inside tx.
func (s *Service) ownerOf(tx storage.Tx, name, q string) (policyOwner, error) {
	latest, err := s.get(tx, name)
	if err != nil {
		return policyOwner{}, err
	}
	switch {
	case q == "" || q == Version:
		return policyOwner{
			get: func() (string, string) { return latest.Policy, latest.RevisionID },
			set: func(doc string) error {
				latest.Policy = doc
				latest.RevisionID = newRevisionID()
				return put(tx, latest)
			},
		}, nil
	case isVersionNumber(q):
		v, err := s.getVersion(tx, name, q)
		if err != nil {
			return policyOwner{}, err
		}
		n, _ := strconv.Atoi(q)
		return policyOwner{
			get: func() (string, string) { return v.Policy, v.RevisionID },
			set: func(doc string) error {
				v.Policy = doc
				raw, err := json.Marshal(v)
				if err != nil {
					return err
				}
				return tx.Set(versionKey(name, n), raw)
			},
		}, nil
	}
	a, err := s.getAlias(tx, name, q)
	if err != nil {
		return policyOwner{}, newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, q))
	}
	return policyOwner{
		get: func() (string, string) { return a.Policy, a.RevisionID },
		set: func(doc string) error { a.Policy = doc; return putAlias(tx, a) },
	}, nil
}

// viewPolicy reads the policy of name:q in a snapshot.
func (s *Service) viewPolicy(ctx context.Context, name, q string) (doc, rev string, err error) {
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		latest, err := s.get(tx, name)
		if err != nil {
			return err
		}
		switch {
		case q == "" || q == Version:
			doc, rev = latest.Policy, latest.RevisionID
		case isVersionNumber(q):
			v, err := s.getVersion(tx, name, q)
			if err != nil {
				return err
			}
			doc, rev = v.Policy, v.RevisionID
		default:
			a, err := s.getAlias(tx, name, q)
			if err != nil {
				return newErr(ErrNotFound, "Function not found: %s", s.qualifiedARN(name, q))
			}
			doc, rev = a.Policy, a.RevisionID
		}
		return nil
	})
	return doc, rev, err
}
