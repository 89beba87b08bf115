package s3api

import (
	"net/http"
)

// operation is what a request asks for, named as AWS names it (the
// operation label of the metrics). err is set when the operation cannot be
// served (not implemented, wrong method); it is returned only after the
// request is authenticated, as S3 does.
type operation struct {
	name  string
	serve func(h *Handler, w http.ResponseWriter, r *request) error
	err   error
	// payload says the operation reads a request body (PutObject,
	// CreateBucket): only those get the payload verifier and the
	// aws-chunked refusal.
	payload bool
	// formAuth says the request is signed inside its body (POST Object's
	// form), not in its headers: header authentication is skipped and
	// the operation verifies the form itself.
	formAuth bool
}

// bucketSubresources are the query keys S3 dispatches on at a bucket. Any
// other key (x-id, prefix, ...) is a parameter, ignored where unused.
var bucketSubresources = []string{
	"abac", "accelerate", "acl", "analytics", "cors", "delete", "encryption",
	"intelligent-tiering", "inventory", "lifecycle", "location", "logging",
	"metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
	"metadataTable", "metrics", "notification", "object-lock",
	"ownershipControls", "policy", "policyStatus", "publicAccessBlock",
	"replication", "requestPayment", "session", "tagging", "torrent",
	"uploads", "versioning", "versions", "website",
}

// objectSubresources are the query keys S3 dispatches on at an object.
var objectSubresources = []string{
	"acl", "attributes", "legal-hold", "renameObject", "restore", "retention",
	"select", "tagging", "torrent", "uploadId", "uploads",
}

// Names of operations that exist on S3 but not yet here, by subresource,
// so that metrics and logs say what was asked for.
var bucketSubresourceOps = map[string][4]string{
	// GET, PUT, DELETE, POST
	"acl":          {"GetBucketAcl", "PutBucketAcl", "", ""},
	"cors":         {"GetBucketCors", "PutBucketCors", "DeleteBucketCors", ""},
	"delete":       {"", "", "", "DeleteObjects"},
	"encryption":   {"GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption", ""},
	"lifecycle":    {"GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle", ""},
	"notification": {"GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", "", ""},
	"policy":       {"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy", ""},
	"tagging":      {"GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging", ""},
	"uploads":      {"ListMultipartUploads", "", "", ""},
	"versioning":   {"GetBucketVersioning", "PutBucketVersioning", "", ""},
	"versions":     {"ListObjectVersions", "", "", ""},
	"website":      {"GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite", ""},
}

func methodIndex(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodPut:
		return 1
	case http.MethodDelete:
		return 2
	case http.MethodPost:
		return 3
	}
	return -1
}

// route picks the operation from the method, the address and the query.
func route(r *request) operation {
	switch {
	case r.bucket == "":
		return routeService(r)
	case !r.hasKey:
		return routeBucket(r)
	default:
		return routeObject(r)
	}
}

func routeService(r *request) operation {
	if r.Method == http.MethodGet {
		return operation{name: "ListBuckets", serve: (*Handler).listBuckets}
	}
	return notAllowed("Unknown", r.Method, "SERVICE")
}

func routeBucket(r *request) operation {
	sub := firstPresent(r, bucketSubresources)
	if sub != "" {
		if sub == "location" && r.Method == http.MethodGet {
			return operation{name: "GetBucketLocation", serve: (*Handler).getBucketLocation}
		}
		if sub == "uploads" && r.Method == http.MethodGet {
			return operation{name: "ListMultipartUploads", serve: (*Handler).listMultipartUploads}
		}
		if sub == "delete" && r.Method == http.MethodPost {
			return operation{name: "DeleteObjects", serve: (*Handler).deleteObjects, payload: true}
		}
		if sub == "notification" {
			switch r.Method {
			case http.MethodGet:
				return operation{name: "GetBucketNotificationConfiguration", serve: (*Handler).getBucketNotification}
			case http.MethodPut:
				return operation{name: "PutBucketNotificationConfiguration", serve: (*Handler).putBucketNotification, payload: true}
			}
		}
		name := "Unknown"
		if i := methodIndex(r.Method); i >= 0 {
			if n := bucketSubresourceOps[sub][i]; n != "" {
				name = n
			}
		}
		if r.Method == http.MethodHead || methodIndex(r.Method) < 0 {
			return notAllowed(name, r.Method, "BUCKET")
		}
		return notImplemented(name)
	}
	switch r.Method {
	case http.MethodGet:
		if r.query.Get("list-type") == "2" {
			return operation{name: "ListObjectsV2", serve: (*Handler).listObjectsV2}
		}
		return operation{name: "ListObjects", serve: (*Handler).listObjectsV1}
	case http.MethodHead:
		return operation{name: "HeadBucket", serve: (*Handler).headBucket}
	case http.MethodPut:
		return operation{name: "CreateBucket", serve: (*Handler).createBucket, payload: true}
	case http.MethodDelete:
		return operation{name: "DeleteBucket", serve: (*Handler).deleteBucket}
	case http.MethodPost:
		// A browser form upload (POST Object, post.go).
		return operation{name: "PostObject", serve: (*Handler).postObject, formAuth: true}
	}
	return notAllowed("Unknown", r.Method, "BUCKET")
}

func routeObject(r *request) operation {
	sub := firstPresent(r, objectSubresources)
	switch r.Method {
	case http.MethodGet:
		switch {
		case sub == "uploadId":
			return operation{name: "ListParts", serve: (*Handler).listParts}
		case sub == "tagging":
			return operation{name: "GetObjectTagging", serve: (*Handler).getObjectTagging}
		case sub != "":
			return notImplemented("Unknown")
		}
		return operation{name: "GetObject", serve: (*Handler).getObject}
	case http.MethodHead:
		if sub != "" {
			return notAllowed("Unknown", r.Method, "OBJECT")
		}
		return operation{name: "HeadObject", serve: (*Handler).headObject}
	case http.MethodPut:
		switch {
		case sub == "uploadId":
			if headerGet(r.Header, "X-Amz-Copy-Source") != "" {
				return operation{name: "UploadPartCopy", serve: (*Handler).uploadPartCopy}
			}
			return operation{name: "UploadPart", serve: (*Handler).uploadPart, payload: true}
		case sub == "tagging":
			return operation{name: "PutObjectTagging", serve: (*Handler).putObjectTagging, payload: true}
		case sub != "":
			return notImplemented("Unknown")
		case headerGet(r.Header, "X-Amz-Copy-Source") != "":
			return operation{name: "CopyObject", serve: (*Handler).copyObject}
		}
		return operation{name: "PutObject", serve: (*Handler).putObject, payload: true}
	case http.MethodDelete:
		switch {
		case sub == "uploadId":
			return operation{name: "AbortMultipartUpload", serve: (*Handler).abortMultipartUpload}
		case sub == "tagging":
			return operation{name: "DeleteObjectTagging", serve: (*Handler).deleteObjectTagging}
		case sub != "":
			return notImplemented("Unknown")
		}
		return operation{name: "DeleteObject", serve: (*Handler).deleteObject}
	case http.MethodPost:
		switch sub {
		case "uploads":
			return operation{name: "CreateMultipartUpload", serve: (*Handler).createMultipartUpload}
		case "uploadId":
			return operation{name: "CompleteMultipartUpload", serve: (*Handler).completeMultipartUpload, payload: true}
		case "restore":
			return notImplemented("RestoreObject")
		case "select":
			return notImplemented("SelectObjectContent")
		case "":
			return notAllowed("Unknown", r.Method, "OBJECT")
		}
		return notImplemented("Unknown")
	}
	return notAllowed("Unknown", r.Method, "OBJECT")
}

// firstPresent returns the first of keys present in the query, or "".
func firstPresent(r *request, keys []string) string {
	for _, k := range keys {
		if r.query.Has(k) {
			return k
		}
	}
	return ""
}

func notImplemented(name string) operation {
	return operation{name: name, err: newError(errNotImplemented)}
}

// notAllowed is S3's 405, which names the method and the kind of resource.
func notAllowed(name, method, resourceType string) operation {
	return operation{name: name, err: newError(errMethodNotAllowed, "Method", method, "ResourceType", resourceType)}
}
