// Package object holds buckets and objects on the storage contract: the key
// layout, the record format, listing, and the blob model (small objects
// inline in their record, large ones in blobs referenced from it).
package object
