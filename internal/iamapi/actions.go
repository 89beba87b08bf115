package iamapi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sluice/internal/arn"
	"sluice/internal/role"
)

type action func(h *Handler, c *call) (any, error)

var iamActions = map[string]action{
	"CreateRole":               (*Handler).createRole,
	"GetRole":                  (*Handler).getRole,
	"DeleteRole":               (*Handler).deleteRole,
	"ListRoles":                (*Handler).listRoles,
	"AttachRolePolicy":         (*Handler).attachRolePolicy,
	"DetachRolePolicy":         (*Handler).detachRolePolicy,
	"ListAttachedRolePolicies": (*Handler).listAttachedRolePolicies,
	"PutRolePolicy":            (*Handler).putRolePolicy,
	"GetRolePolicy":            (*Handler).getRolePolicy,
	"DeleteRolePolicy":         (*Handler).deleteRolePolicy,
	"ListRolePolicies":         (*Handler).listRolePolicies,
}

var stsActions = map[string]action{
	"GetCallerIdentity": (*Handler).getCallerIdentity,
}

// xmlRole is the Role shape of CreateRole, GetRole and ListRoles, in the
// member order of the IAM model.
type xmlRole struct {
	Path                     string
	RoleName                 string
	RoleID                   string `xml:"RoleId"`
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string   `xml:",omitempty"`
	MaxSessionDuration       int      `xml:",omitempty"`
	Tags                     *xmlTags `xml:",omitempty"`
}

type xmlTags struct {
	Members []xmlTag `xml:"member"`
}

type xmlTag struct {
	Key, Value string
}

func toXMLRole(r role.Role, withTags bool) xmlRole {
	out := xmlRole{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN,
		CreateDate:               r.Created.UTC().Format(time.RFC3339),
		AssumeRolePolicyDocument: escapePolicy(r.TrustPolicy),
		Description:              r.Description, MaxSessionDuration: r.MaxSession,
	}
	if withTags && len(r.Tags) > 0 {
		out.Tags = &xmlTags{}
		for _, t := range r.Tags {
			out.Tags.Members = append(out.Tags.Members, xmlTag(t))
		}
	}
	return out
}

// required returns a form parameter that must be present.
func required(c *call, name, field string) (string, error) {
	v, ok := c.form[name]
	if !ok || len(v) == 0 {
		return "", missing(field)
	}
	return v[0], nil
}

// tags reads Tags.member.N.Key / .Value.
func tags(form url.Values) []role.Tag {
	var out []role.Tag
	for i := 1; i <= 50; i++ {
		k, ok := form[fmt.Sprintf("Tags.member.%d.Key", i)]
		if !ok {
			break
		}
		out = append(out, role.Tag{Key: k[0], Value: form.Get(fmt.Sprintf("Tags.member.%d.Value", i))})
	}
	return out
}

// maxItems reads MaxItems (1 to 1000, default 100) for IAM's list calls.
func maxItems(c *call) (int, error) {
	s := c.form.Get("MaxItems")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", s))
	}
	return n, nil
}

func (h *Handler) createRole(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	doc, err := required(c, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	in := role.CreateInput{Name: name, Path: c.form.Get("Path"), Description: c.form.Get("Description"), TrustPolicy: doc, Tags: tags(c.form)}
	if s := c.form.Get("MaxSessionDuration"); s != "" {
		if in.MaxSession, err = strconv.Atoi(s); err != nil || in.MaxSession == 0 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", s))
		}
	}
	r, err := h.roles.Create(c.ctx, in)
	if err != nil {
		return nil, roleError(err, name, "", false)
	}
	return struct{ Role xmlRole }{toXMLRole(r, true)}, nil
}

func (h *Handler) getRole(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	r, err := h.roles.Get(c.ctx, name)
	if err != nil {
		return nil, roleError(err, name, "", false)
	}
	return struct{ Role xmlRole }{toXMLRole(r, true)}, nil
}

func (h *Handler) deleteRole(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	if err := h.roles.Delete(c.ctx, name); err != nil {
		return nil, roleError(err, name, "", false)
	}
	return nil, nil
}

func (h *Handler) listRoles(c *call) (any, error) {
	max, err := maxItems(c)
	if err != nil {
		return nil, err
	}
	roles, next, err := h.roles.List(c.ctx, c.form.Get("PathPrefix"), c.form.Get("Marker"), max)
	if err != nil {
		return nil, err
	}
	type out struct {
		Roles struct {
			Members []xmlRole `xml:"member"`
		}
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	var o out
	o.Roles.Members = []xmlRole{}
	for _, r := range roles {
		o.Roles.Members = append(o.Roles.Members, toXMLRole(r, false))
	}
	o.IsTruncated, o.Marker = next != "", next
	return o, nil
}

func (h *Handler) attachRolePolicy(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	arn, err := required(c, "PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	if err := h.roles.AttachPolicy(c.ctx, name, arn); err != nil {
		return nil, roleError(err, name, arn, true)
	}
	return nil, nil
}

func (h *Handler) detachRolePolicy(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	arn, err := required(c, "PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	if err := h.roles.DetachPolicy(c.ctx, name, arn); err != nil {
		return nil, roleError(err, name, arn, true)
	}
	return nil, nil
}

// page returns items[start:] cut at max and the marker of the next page
// (the index of its first item), for lists a role record holds whole.
func page[T any](items []T, marker string, max int) ([]T, string, error) {
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", validation("Invalid Marker.")
		}
		start = n
	}
	items = items[start:]
	if len(items) > max {
		return items[:max], strconv.Itoa(start + max), nil
	}
	return items, "", nil
}

func (h *Handler) listAttachedRolePolicies(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	max, err := maxItems(c)
	if err != nil {
		return nil, err
	}
	r, err := h.roles.Get(c.ctx, name)
	if err != nil {
		return nil, roleError(err, name, "", false)
	}
	prefix := c.form.Get("PathPrefix")
	type attached struct {
		PolicyName string
		PolicyArn  string
	}
	var all []attached
	for _, a := range r.Attached {
		// arn:aws:iam::aws:policy/service-role/Name: the name is the last
		// path element, the path what lies between "policy" and it.
		parsed, err := arn.Parse(a)
		if err != nil {
			continue // AttachPolicy stores only ARNs that parse
		}
		res := parsed.Resource
		last := strings.LastIndexByte(res, '/')
		path := res[len("policy") : last+1]
		if prefix != "" && !strings.HasPrefix(path, prefix) {
			continue
		}
		all = append(all, attached{PolicyName: res[last+1:], PolicyArn: a})
	}
	items, next, err := page(all, c.form.Get("Marker"), max)
	if err != nil {
		return nil, err
	}
	type out struct {
		AttachedPolicies struct {
			Members []attached `xml:"member"`
		}
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	var o out
	o.AttachedPolicies.Members = append([]attached{}, items...)
	o.IsTruncated, o.Marker = next != "", next
	return o, nil
}

func (h *Handler) putRolePolicy(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	pname, err := required(c, "PolicyName", "policyName")
	if err != nil {
		return nil, err
	}
	doc, err := required(c, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if err := h.roles.PutPolicy(c.ctx, name, pname, doc); err != nil {
		return nil, roleError(err, name, pname, false)
	}
	return nil, nil
}

func (h *Handler) getRolePolicy(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	pname, err := required(c, "PolicyName", "policyName")
	if err != nil {
		return nil, err
	}
	r, err := h.roles.Get(c.ctx, name)
	if err != nil {
		return nil, roleError(err, name, pname, false)
	}
	doc, ok := r.Inline[pname]
	if !ok {
		return nil, roleError(role.ErrNoSuchPolicy, name, pname, false)
	}
	return struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}{r.Name, pname, escapePolicy(doc)}, nil
}

func (h *Handler) deleteRolePolicy(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	pname, err := required(c, "PolicyName", "policyName")
	if err != nil {
		return nil, err
	}
	if err := h.roles.DeletePolicy(c.ctx, name, pname); err != nil {
		return nil, roleError(err, name, pname, false)
	}
	return nil, nil
}

func (h *Handler) listRolePolicies(c *call) (any, error) {
	name, err := required(c, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	max, err := maxItems(c)
	if err != nil {
		return nil, err
	}
	r, err := h.roles.Get(c.ctx, name)
	if err != nil {
		return nil, roleError(err, name, "", false)
	}
	items, next, err := page(r.PolicyNames(), c.form.Get("Marker"), max)
	if err != nil {
		return nil, err
	}
	type out struct {
		PolicyNames struct {
			Members []string `xml:"member"`
		}
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	var o out
	o.PolicyNames.Members = append([]string{}, items...)
	o.IsTruncated, o.Marker = next != "", next
	return o, nil
}

// getCallerIdentity reports who signed the request: the root user
// (UserId is the account id, Arn arn:aws:iam::<account>:root, as AWS
// answers for root credentials) or a function's assumed-role session.
func (h *Handler) getCallerIdentity(c *call) (any, error) {
	type out struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	}
	acct := h.roles.AccountID()
	if h.sessions != nil {
		if s, ok := h.sessions.Lookup(c.caller.AccessKeyID); ok {
			return out{Arn: s.ARN(), UserID: s.UserID(), Account: s.Account}, nil
		}
	}
	return out{Arn: "arn:aws:iam::" + acct + ":root", UserID: acct, Account: acct}, nil
}
