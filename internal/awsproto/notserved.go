package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
)

// notServedCode is the error code of NotServed: the SDKs surface it as
// the error's code (botocore ClientError.response["Error"]["Code"], go-v2
// smithy.APIError.ErrorCode()), and 501 is not retried by either.
const notServedCode = "NotImplemented"

// displayNames are the names AWS uses for the services in prose.
var displayNames = map[Service]string{
	S3: "S3", SQS: "SQS", SNS: "SNS", Lambda: "Lambda", IAM: "IAM", STS: "STS",
}

// NotServedMessage is the message of NotServed for svc, e.g. "Sluice does
// not serve the SQS API yet".
func NotServedMessage(svc Service) string {
	name, ok := displayNames[svc]
	if !ok {
		name = strings.ToUpper(string(svc))
		if name == "" {
			name = "requested"
		}
	}
	return "Sluice does not serve the " + name + " API yet"
}

// NotServed answers a request for a service Sluice does not serve (yet)
// with 501 NotImplemented in that service's own protocol, so the client's
// SDK reports the code and message instead of failing to parse an S3
// error:
//   - AWS JSON (X-Amz-Target; e.g. SQS as go-v2 and botocore speak it):
//     {"__type":"NotImplemented","message":...}, plus x-amzn-query-error
//     for SQS, whose clients read the legacy query code from it;
//   - query protocol (Action= in the URL or form; SNS, IAM, STS, old SQS):
//     <ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>;
//   - REST-JSON (Lambda and other services): X-Amzn-ErrorType header and
//     {"Type":"User","Message":...};
//   - S3: the S3 <Error> document.
//
// The request id comes from the context (WithRequestID) when set.
func NotServed(w http.ResponseWriter, r *http.Request, svc Service) {
	msg := NotServedMessage(svc)
	id, hostID := RequestID(r.Context())
	h := w.Header()
	switch protocolOf(r, svc) {
	case protoS3:
		if id == "" {
			id, hostID = NewRequestID(), NewHostID()
		}
		h.Set("Content-Type", "application/xml")
		h.Set("x-amz-request-id", id)
		h.Set("x-amz-id-2", hostID)
		w.WriteHeader(http.StatusNotImplemented)
		body, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
			HostID    string `xml:"HostId"`
		}{Code: notServedCode, Message: msg, RequestID: id, HostID: hostID})
		w.Write([]byte(xml.Header))
		w.Write(body)
	case protoJSON:
		if id == "" {
			id = NewUUID()
		}
		h.Set("Content-Type", jsonContentType(r))
		h.Set("x-amzn-RequestId", id)
		if svc == SQS {
			h.Set("x-amzn-query-error", notServedCode+";Sender")
		}
		w.WriteHeader(http.StatusNotImplemented)
		body, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{notServedCode, msg})
		w.Write(body)
	case protoQuery:
		if id == "" {
			id = NewUUID()
		}
		h.Set("Content-Type", "text/xml")
		h.Set("x-amzn-RequestId", id)
		w.WriteHeader(http.StatusNotImplemented)
		type errElem struct {
			Type    string
			Code    string
			Message string
		}
		body, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Error     errElem
			RequestID string `xml:"RequestId"`
		}{Error: errElem{"Sender", notServedCode, msg}, RequestID: id})
		w.Write(body)
	default: // REST-JSON
		if id == "" {
			id = NewUUID()
		}
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-ErrorType", notServedCode)
		h.Set("X-Amzn-RequestId", id)
		w.WriteHeader(http.StatusNotImplemented)
		body, _ := json.Marshal(struct {
			Type    string `json:"Type"`
			Message string `json:"Message"`
		}{"User", msg})
		w.Write(body)
	}
}

type protocol int

const (
	protoRESTJSON protocol = iota
	protoJSON
	protoQuery
	protoS3
)

func protocolOf(r *http.Request, svc Service) protocol {
	if r.Header.Get("X-Amz-Target") != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-") {
		return protoJSON
	}
	switch svc {
	case S3:
		return protoS3
	case SQS, SNS, IAM, STS:
		return protoQuery
	case Lambda:
		return protoRESTJSON
	}
	if strings.Contains(r.URL.RawQuery, "Action=") || isForm(r.Header.Get("Content-Type")) {
		return protoQuery
	}
	return protoRESTJSON
}

// jsonContentType echoes the client's AWS JSON version (1.0 for SQS, 1.1
// for most others).
func jsonContentType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-amz-json-") {
		return strings.TrimSpace(strings.Split(ct, ";")[0])
	}
	return "application/x-amz-json-1.0"
}
