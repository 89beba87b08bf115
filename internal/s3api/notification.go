package s3api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"sluice/internal/auth"
	"sluice/internal/dispatch"
	"sluice/internal/event"
	"sluice/internal/notify"
)

// Notifications is the bucket notification domain as the S3 edge needs it
// (dispatch.Service).
type Notifications interface {
	PutConfiguration(ctx context.Context, bucket string, cfg *notify.Configuration, opts dispatch.PutOptions) error
	GetConfiguration(ctx context.Context, bucket string) (*notify.Configuration, error)
}

// eventBridgeWarning is sent with a configuration that has
// EventBridgeConfiguration: S3 accepts it, and so does Sluice, but nothing
// is delivered for it, which the user should not have to discover.
const eventBridgeWarning = "EventBridgeConfiguration is stored and returned, but Sluice delivers no events to EventBridge"

// putBucketNotification is PutBucketNotificationConfiguration (and the
// legacy PutBucketNotification, which uses the same URL).
func (h *Handler) putBucketNotification(w http.ResponseWriter, r *request) error {
	if h.cfg.Notifications == nil {
		return newError(errNotImplemented)
	}
	if err := h.checkExpectedOwner(r); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.body, notify.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	cfg, err := notify.Decode(body, notify.DecodeOptions{})
	if err != nil {
		return notifyError(err)
	}
	skip, _ := strconv.ParseBool(headerGet(r.Header, "X-Amz-Skip-Destination-Validation"))
	err = h.cfg.Notifications.PutConfiguration(r.Context(), r.bucket, cfg, dispatch.PutOptions{SkipDestinationValidation: skip})
	if err != nil {
		return notifyError(err)
	}
	if cfg.EventBridge {
		w.Header().Set("x-sluice-warning", eventBridgeWarning)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// getBucketNotification is GetBucketNotificationConfiguration: the stored
// configuration, or the empty element when there is none.
func (h *Handler) getBucketNotification(w http.ResponseWriter, r *request) error {
	if h.cfg.Notifications == nil {
		return newError(errNotImplemented)
	}
	if err := h.checkExpectedOwner(r); err != nil {
		return err
	}
	cfg, err := h.cfg.Notifications.GetConfiguration(r.Context(), r.bucket)
	if err != nil {
		return err
	}
	if cfg.EventBridge {
		w.Header().Set("x-sluice-warning", eventBridgeWarning)
	}
	body := append([]byte(xmlHeader), notify.Encode(cfg)...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// checkExpectedOwner answers x-amz-expected-bucket-owner: S3 refuses with
// 403 AccessDenied when it names another account.
func (h *Handler) checkExpectedOwner(r *request) error {
	if v := headerGet(r.Header, "X-Amz-Expected-Bucket-Owner"); v != "" && v != h.cfg.Owner.ID {
		return newError(errAccessDenied)
	}
	return nil
}

// notifyError renders notify's refusals as S3 errors: Code, Message and
// either ArgumentName/ArgumentValue or the numbered pairs of the
// destination check. Other errors pass through to toAPIError.
func notifyError(err error) error {
	var ne *notify.Error
	if !errors.As(err, &ne) {
		return err
	}
	e := &Error{Code: ne.Code, Status: http.StatusBadRequest, Message: ne.Message}
	if ne.ArgumentName != "" || ne.ArgumentValue != "" {
		e.Fields = append(e.Fields, field{"ArgumentName", ne.ArgumentName}, field{"ArgumentValue", ne.ArgumentValue})
	}
	for i, a := range ne.Arguments {
		n := strconv.Itoa(i + 1)
		e.Fields = append(e.Fields, field{"ArgumentName" + n, a.Name}, field{"ArgumentValue" + n, a.Value})
	}
	return e
}

// withOrigin puts who made the request into its context (event.Origin),
// so that every object change reports the same requester, client address
// and request ids in its event records. A request made by a function
// invocation carries that invocation's lineage, so the records it causes
// count toward the request that started the chain.
func (h *Handler) withOrigin(r *request, res *auth.Result) {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	o := event.Origin{RequestID: r.requestID, HostID: r.hostID, SourceIP: strings.TrimPrefix(ip, "::ffff:")}
	if res != nil {
		o.PrincipalID = res.Principal
		if h.cfg.Lineage != nil {
			if l, ok := h.cfg.Lineage.Lineage(res.AccessKeyID); ok {
				o.Lineage = l
			}
		}
	}
	r.ctx = event.WithOrigin(r.Context(), o)
}
