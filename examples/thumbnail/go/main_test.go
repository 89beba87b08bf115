package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 100, 255})
		}
	}
	return img
}

func encode(t *testing.T, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMakeThumbnail(t *testing.T) {
	for _, tc := range []struct {
		name, format, ctype string
		w, h, ww, wh        int
	}{
		{"jpeg landscape", "jpeg", "image/jpeg", 640, 480, 128, 96},
		{"png portrait", "png", "image/png", 100, 300, 43, 128},
		{"small png kept", "png", "image/png", 50, 40, 50, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ctype, err := makeThumbnail(encode(t, tc.format, gradient(tc.w, tc.h)))
			if err != nil {
				t.Fatal(err)
			}
			if ctype != tc.ctype {
				t.Errorf("content type %q, want %q", ctype, tc.ctype)
			}
			img, format, err := image.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("thumbnail does not decode: %v", err)
			}
			if format != tc.format || img.Bounds().Dx() != tc.ww || img.Bounds().Dy() != tc.wh {
				t.Errorf("thumbnail is %s %v, want %s %d×%d", format, img.Bounds(), tc.format, tc.ww, tc.wh)
			}
			// The gradient survives: the top-right corner is red, the
			// bottom-left green (JPEG within its loss).
			r, _, _, _ := img.At(tc.ww-1, 0).RGBA()
			_, g, _, _ := img.At(0, tc.wh-1).RGBA()
			if r>>8 < 200 || g>>8 < 200 {
				t.Errorf("corners lost the gradient: top-right R=%d, bottom-left G=%d", r>>8, g>>8)
			}
		})
	}
}

// pngHeader is a PNG signature and an IHDR chunk (valid CRC) announcing a
// w×h RGBA image, with no pixel data.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestMakeThumbnailRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not an image", []byte("hello, world"), "not a JPEG or PNG image"},
		{"decompression bomb", pngHeader(100_000, 100_000), "at most 50000000 are allowed"},
		{"truncated png", pngHeader(10, 10), "decoding png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := makeThumbnail(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("makeThumbnail = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// fakeS3 keeps objects as "bucket/key" → bytes.
type fakeS3 struct {
	objects map[string][]byte
	types   map[string]string
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b, ok := f.objects[*in.Bucket+"/"+*in.Key]
	if !ok {
		return nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b))}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.objects[*in.Bucket+"/"+*in.Key] = b
	f.types[*in.Bucket+"/"+*in.Key] = aws.ToString(in.ContentType)
	return &s3.PutObjectOutput{}, nil
}

// The handler takes the event S3 sends (key form-encoded, as in the record
// below) and writes resized-<decoded key> into <bucket>-resized; a record
// whose object is missing fails the invocation without stopping the others.
func TestHandler(t *testing.T) {
	fake := &fakeS3{objects: map[string][]byte{}, types: map[string]string{}}
	fake.objects["photos/in/my cat+1.jpg"] = encode(t, "jpeg", gradient(300, 200))
	record := `{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put",
		"s3":{"s3SchemaVersion":"1.0","bucket":{"name":"photos","arn":"arn:aws:s3:::photos"},
		"object":{"key":%q,"size":1}}}`
	var ev events.S3Event
	payload := `{"Records":[` + strings.Replace(record, "%q", `"in/my+cat%2B1.jpg"`, 1) + `,` +
		strings.Replace(record, "%q", `"in/absent.jpg"`, 1) + `]}`
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		t.Fatal(err)
	}
	err := handler(fake)(context.Background(), ev)
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) || !strings.Contains(err.Error(), "s3://photos/in/absent.jpg") {
		t.Errorf("handler error = %v, want NoSuchKey naming s3://photos/in/absent.jpg", err)
	}
	got, ok := fake.objects["photos-resized/resized-in/my cat+1.jpg"]
	if !ok {
		t.Fatalf("no thumbnail written; objects: %v", keys(fake.objects))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(got))
	if err != nil || format != "jpeg" || cfg.Width != 128 || cfg.Height != 85 {
		t.Errorf("thumbnail: %s %d×%d (%v), want jpeg 128×85", format, cfg.Width, cfg.Height, err)
	}
	if ct := fake.types["photos-resized/resized-in/my cat+1.jpg"]; ct != "image/jpeg" {
		t.Errorf("content type %q, want image/jpeg", ct)
	}
	if len(fake.objects) != 2 {
		t.Errorf("objects after the handler: %v, want the source and one thumbnail", keys(fake.objects))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
