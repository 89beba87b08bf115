// Command thumbnail is the Go version of AWS's tutorial "Using an Amazon S3
// trigger to create thumbnail images": an unmodified aws-lambda-go function
// that, for each object an S3 event names, reads the image (JPEG or PNG),
// scales it to fit in 128×128 and writes it, in the same format, to the
// bucket "<bucket>-resized" under "resized-<key>". It runs the same on AWS
// and on Sluice: the SDK's default configuration picks up the credentials
// and AWS_ENDPOINT_URL the function's instance is given.
//
// Build it for a provided.al2023 function (see ../README.md):
//
//	GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap . && zip thumbnail.zip bootstrap
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	// thumbSize is the longer side of a thumbnail, in pixels.
	thumbSize = 128
	// maxPixels bounds what the function will decode (about 200 MB of
	// RGBA): a small header can announce a huge image, and decoding it
	// would exhaust the function's memory before any error surfaced.
	maxPixels = 50_000_000
	// maxBytes bounds the object read into memory.
	maxBytes = 64 << 20
)

// objects is the part of the S3 client the handler uses, so that tests can
// give it a fake.
type objects interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// handler makes one thumbnail per record. An error fails the invocation, so
// an asynchronous invoker (S3) retries it on Lambda's schedule.
func handler(client objects) func(context.Context, events.S3Event) error {
	return func(ctx context.Context, ev events.S3Event) error {
		var errs []error
		for _, r := range ev.Records {
			// Keys in S3 events are form-encoded ("my cat.jpg" arrives as
			// "my+cat.jpg"); aws-lambda-go decodes them into URLDecodedKey.
			bucket, key := r.S3.Bucket.Name, r.S3.Object.URLDecodedKey
			if err := thumbnail(ctx, client, bucket, key); err != nil {
				errs = append(errs, fmt.Errorf("s3://%s/%s: %w", bucket, key, err))
				continue
			}
			log.Printf("wrote s3://%s-resized/resized-%s", bucket, key)
		}
		return errors.Join(errs...)
	}
}

// thumbnail reads bucket/key, scales it and writes the result to
// "<bucket>-resized" under "resized-<key>". Writing to a second bucket is
// what keeps the function from triggering itself.
func thumbnail(ctx context.Context, client objects, bucket, key string) error {
	obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(obj.Body, maxBytes+1))
	obj.Body.Close()
	if err != nil {
		return err
	}
	if len(data) > maxBytes {
		return fmt.Errorf("object is larger than %d bytes", maxBytes)
	}
	out, contentType, err := makeThumbnail(data)
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket + "-resized"),
		Key:         aws.String("resized-" + key),
		Body:        bytes.NewReader(out),
		ContentType: aws.String(contentType),
	})
	return err
}

// makeThumbnail decodes a JPEG or PNG image and returns it scaled to fit in
// thumbSize×thumbSize, encoded in the source's format, with its content type.
func makeThumbnail(data []byte) ([]byte, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("not a JPEG or PNG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", fmt.Errorf("image is %d×%d pixels; at most %d are allowed", cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s: %w", format, err)
	}
	dw, dh := fit(cfg.Width, cfg.Height, thumbSize)
	small := resize(img, dw, dh)
	var buf bytes.Buffer
	switch format {
	case "jpeg":
		err = jpeg.Encode(&buf, small, &jpeg.Options{Quality: 85})
		return buf.Bytes(), "image/jpeg", err
	case "png":
		err = png.Encode(&buf, small)
		return buf.Bytes(), "image/png", err
	}
	return nil, "", fmt.Errorf("unsupported image format %q", format)
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("loading the AWS configuration: %v", err)
	}
	lambda.Start(handler(s3.NewFromConfig(cfg)))
}
