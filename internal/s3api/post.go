package s3api

import (
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sluice/internal/auth"
	"sluice/internal/event"
	"sluice/internal/object"
)

// POST Object: a browser form upload (S3 API reference "PostObject", User
// Guide "Browser-based uploads using POST"). The request itself is not
// signed: the form carries a policy and its signature, so the route skips
// header authentication (DESIGN.md, Security: "POST-policy form uploads
// (signed inside the form)").
//
// Order of checks, as S3 answers them: the enclosure type, the form up to
// its file, the key field, the signing fields, the signature, the policy
// document, its expiration, its conditions and the fields it does not
// name. All of them before a byte of the file is read; the file's size
// (content-length-range) is enforced while it streams, and a failure there
// writes nothing either (the object store discards a failed body).

// postResponse is the 201 answer's document.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// postMetaFields are the form fields stored with the object as the
// headers of the same names are by PutObject.
var postMetaFields = []string{
	"Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding",
	"Content-Language", "Expires",
}

func (h *Handler) postObject(w http.ResponseWriter, r *request) error {
	form, err := readPostForm(headerGet(r.Header, "Content-Type"), r.Body)
	if err != nil {
		return err
	}
	key, ok := form.fields["key"]
	if !ok || key == "" {
		return missingField("key")
	}
	key = strings.ReplaceAll(key, "${filename}", form.filename)
	form.fields["key"] = key
	r.key, r.hasKey = key, true // for the errors' <Key>

	res, policy, err := h.verifyPostForm(form)
	if err != nil {
		return err
	}
	if err := policy.check(h.cfg.Clock.Now(), r.bucket, form); err != nil {
		return err
	}
	if len(key) > object.MaxKeyLength {
		return keyTooLong(key)
	}
	var tags []object.Tag
	if v, ok := form.fields["tagging"]; ok {
		// The form's tagging field is the PutObjectTagging document (S3
		// API reference, PostObject), not x-amz-tagging's query form.
		if tags, err = parseTagging([]byte(v)); err == nil {
			tags, err = validTags(tags)
		}
		if err != nil {
			return err
		}
	}

	hd := http.Header{}
	for _, name := range postMetaFields {
		if v, ok := form.fields[strings.ToLower(name)]; ok {
			hd.Set(name, v)
		}
	}
	for l, v := range form.fields {
		if strings.HasPrefix(l, metaPrefix) || strings.HasPrefix(l, "x-amz-checksum-") {
			hd[l] = []string{v} // parseMeta and parseChecksum lower-case names themselves
		}
	}
	meta, err := parseMeta(hd)
	if err != nil {
		return err
	}
	sum, algorithm, err := parseChecksum(hd, "")
	if err != nil {
		return err
	}
	if sum == nil && algorithm == "" {
		algorithm = object.CRC64NVME // as PutObject: every new object gets one
	}
	lo, hi := policy.sizeRange()

	ctx := r.Context()
	origin, _ := event.OriginFrom(ctx)
	origin.RequestID, origin.HostID = r.requestID, r.hostID
	origin.PrincipalID = res.Principal
	if origin.SourceIP == "" {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			origin.SourceIP = host
		}
	}
	obj, err := h.cfg.Objects.PutObject(event.WithOrigin(ctx, origin), object.PutInput{
		Bucket:            r.bucket,
		Key:               key,
		Body:              &sizeLimitReader{r: form.file, lo: lo, hi: hi},
		Size:              -1,
		Meta:              meta,
		Checksum:          sum,
		ChecksumAlgorithm: algorithm,
		Event:             event.ObjectCreatedPost,
		Tags:              tags,
	})
	if err != nil {
		return err
	}
	return h.answerPost(w, r, form, obj)
}

// verifyPostForm checks the form's signing fields and signature and
// decodes its policy. A form without a policy or a signature is anonymous:
// 403 AccessDenied (no bucket policy can grant anonymous writes yet).
func (h *Handler) verifyPostForm(form *postForm) (*auth.Result, *postPolicy, error) {
	f := form.fields
	sig := auth.PostSignature{
		Policy:        f["policy"],
		Algorithm:     f["x-amz-algorithm"],
		Credential:    f["x-amz-credential"],
		Date:          f["x-amz-date"],
		Signature:     f["x-amz-signature"],
		AccessKeyID:   f["awsaccesskeyid"],
		SignatureV2:   f["signature"],
		SecurityToken: f["x-amz-security-token"],
	}
	v4 := []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"}
	v2 := []string{"awsaccesskeyid", "signature"}
	var required []string
	switch {
	case sig.Policy == "":
		return nil, nil, newError(errAccessDenied)
	case hasAny(f, v4):
		required = v4
	case hasAny(f, v2):
		required = v2
	default:
		return nil, nil, newError(errAccessDenied)
	}
	for _, name := range required {
		if _, ok := f[name]; !ok {
			return nil, nil, missingField(name)
		}
	}
	res, err := h.cfg.Verifier.VerifyPostPolicy(sig)
	if err != nil {
		return nil, nil, err
	}
	policy, err := parsePostPolicy(sig.Policy)
	if err != nil {
		return nil, nil, err
	}
	return res, policy, nil
}

func hasAny(fields map[string]string, names []string) bool {
	for _, n := range names {
		if _, ok := fields[n]; ok {
			return true
		}
	}
	return false
}

// answerPost sends the success answer the form asked for: a 303 to
// success_action_redirect (or the older redirect) with bucket, key and
// etag in its query; else success_action_status (200, 201 with a
// PostResponse document, or 204).
func (h *Handler) answerPost(w http.ResponseWriter, r *request, form *postForm, obj object.Object) error {
	etag := quoteETag(obj.ETag)
	location := h.objectURL(r, obj.Key)
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Location", location)
	if obj.Checksum != nil {
		setChecksumHeaders(hd, obj.Checksum)
	}
	redirect, ok := form.fields["success_action_redirect"]
	if !ok {
		redirect = form.fields["redirect"]
	}
	if u, err := url.Parse(redirect); redirect != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		q := u.Query()
		q.Set("bucket", r.bucket)
		q.Set("key", obj.Key)
		q.Set("etag", etag)
		u.RawQuery = q.Encode()
		hd.Set("Location", u.String())
		hd.Set("Content-Length", "0")
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	status := postSuccessStatus(form.fields["success_action_status"])
	if status != http.StatusCreated {
		hd.Set("Content-Length", "0")
		w.WriteHeader(status)
		return nil
	}
	body, err := xml.Marshal(postResponse{Location: location, Bucket: r.bucket, Key: obj.Key, ETag: etag})
	if err != nil {
		return err
	}
	out := append([]byte(xml.Header), body...)
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
	return nil
}

// objectURL is the URL of an object as the client addressed the bucket:
// virtual-hosted when the Host named it, else path style.
func (h *Handler) objectURL(r *request, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	path := strings.Join(segs, "/")
	if r.hostBucket != "" {
		return scheme + "://" + r.Host + "/" + path
	}
	return scheme + "://" + r.Host + "/" + url.PathEscape(r.bucket) + "/" + path
}
