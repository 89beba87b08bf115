package bench

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sqsClient speaks SQS's AWS JSON 1.0 protocol as botocore and
// aws-sdk-go-v2 do: POST / with X-Amz-Target AmazonSQS.<Action>, the
// x-amzn-query-mode header, and a SigV4 header signature over the body's
// SHA-256 for service "sqs". It checks the MD5s the SDKs check.
type sqsClient struct {
	http     *http.Client
	endpoint string
	creds    aws.Credentials
	region   string
	signer   *v4.Signer
}

func newSQSClient(endpoint, accessKey, secretKey, region string, tr *http.Transport) *sqsClient {
	return &sqsClient{
		http:     &http.Client{Transport: tr},
		endpoint: endpoint,
		creds:    aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "sluice bench"},
		region:   region,
		signer:   v4.NewSigner(),
	}
}

// call sends one action with a JSON body (whose hex SHA-256 is sha, or
// "" to compute it) and decodes a 200 response into out (nil: discard).
func (c *sqsClient) call(ctx context.Context, action string, body []byte, sha string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	if sha == "" {
		sum := sha256.Sum256(body)
		sha = hex.EncodeToString(sum[:])
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	req.Header.Set("X-Amzn-Query-Mode", "true")
	if err := c.signer.SignHTTP(ctx, c.creds, req, sha, "sqs", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &statusError{Method: "POST", Path: action, Status: resp.StatusCode, Body: string(bytes.TrimSpace(msg))}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: decoding response: %w", action, err)
	}
	return nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// createQueue creates (or finds) a queue and returns its URL.
func (c *sqsClient) createQueue(ctx context.Context, name string) (string, error) {
	var out struct{ QueueUrl string }
	if err := c.call(ctx, "CreateQueue", []byte(`{"QueueName":`+jsonString(name)+`}`), "", &out); err != nil {
		return "", err
	}
	if out.QueueUrl == "" {
		return "", fmt.Errorf("CreateQueue %s: no QueueUrl in the response", name)
	}
	return out.QueueUrl, nil
}

func (c *sqsClient) deleteQueue(ctx context.Context, url string) error {
	return c.call(ctx, "DeleteQueue", []byte(`{"QueueUrl":`+jsonString(url)+`}`), "", nil)
}

// messageSet is a few distinct message bodies (printable ASCII, so they
// are valid SQS text), their MD5s, and prebuilt signed-ready request
// bodies: one SendMessage and one ten-entry SendMessageBatch per body, so
// the timed loops neither encode JSON nor hash bodies.
type messageSet struct {
	bodies   []string
	md5s     []string
	byMD5    map[string]int
	send     [][]byte
	sendSHA  []string
	batch    [][]byte
	batchSHA []string
}

// batchSize is the SQS maximum batch, used by every batch step.
const batchSize = 10

func newMessageSet(n int, size int64, seed uint64, queueURL string) messageSet {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
	r := rand.New(rand.NewPCG(seed, 0x5a5))
	ms := messageSet{byMD5: map[string]int{}}
	for i := range n {
		b := make([]byte, size)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		body := string(b)
		sum := md5.Sum(b)
		ms.bodies = append(ms.bodies, body)
		ms.md5s = append(ms.md5s, hex.EncodeToString(sum[:]))
		ms.byMD5[ms.md5s[i]] = i

		send := []byte(`{"QueueUrl":` + jsonString(queueURL) + `,"MessageBody":` + jsonString(body) + `}`)
		var batch bytes.Buffer
		batch.WriteString(`{"QueueUrl":` + jsonString(queueURL) + `,"Entries":[`)
		for k := range batchSize {
			if k > 0 {
				batch.WriteByte(',')
			}
			batch.WriteString(`{"Id":"e` + strconv.Itoa(k) + `","MessageBody":` + jsonString(body) + `}`)
		}
		batch.WriteString(`]}`)
		ms.send = append(ms.send, send)
		ms.sendSHA = append(ms.sendSHA, sha256Hex(send))
		ms.batch = append(ms.batch, batch.Bytes())
		ms.batchSHA = append(ms.batchSHA, sha256Hex(batch.Bytes()))
	}
	return ms
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// send sends body i with SendMessage and checks the MD5 the server
// returned.
func (c *sqsClient) send(ctx context.Context, ms *messageSet, i int) error {
	var out struct{ MessageId, MD5OfMessageBody string }
	if err := c.call(ctx, "SendMessage", ms.send[i], ms.sendSHA[i], &out); err != nil {
		return err
	}
	if out.MD5OfMessageBody != ms.md5s[i] || out.MessageId == "" {
		return fmt.Errorf("SendMessage: MD5OfMessageBody %q, want %q (MessageId %q)", out.MD5OfMessageBody, ms.md5s[i], out.MessageId)
	}
	return nil
}

// sendBatch sends ten copies of body i with SendMessageBatch; every
// entry must succeed with the right MD5.
func (c *sqsClient) sendBatch(ctx context.Context, ms *messageSet, i int) error {
	var out struct {
		Successful []struct{ Id, MessageId, MD5OfMessageBody string }
		Failed     []struct{ Id, Code, Message string }
	}
	if err := c.call(ctx, "SendMessageBatch", ms.batch[i], ms.batchSHA[i], &out); err != nil {
		return err
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("SendMessageBatch: %d entries failed, first %s: %s %s", len(out.Failed), f.Id, f.Code, f.Message)
	}
	if len(out.Successful) != batchSize {
		return fmt.Errorf("SendMessageBatch: %d successful entries, want %d", len(out.Successful), batchSize)
	}
	for _, s := range out.Successful {
		if s.MD5OfMessageBody != ms.md5s[i] {
			return fmt.Errorf("SendMessageBatch: entry %s MD5OfMessageBody %q, want %q", s.Id, s.MD5OfMessageBody, ms.md5s[i])
		}
	}
	return nil
}

// received is one message of a ReceiveMessage response.
type received struct {
	MessageId, ReceiptHandle, MD5OfBody, Body string
}

// receive takes up to max messages, waiting up to wait seconds, and
// checks each body against its MD5 and against the bodies sent.
func (c *sqsClient) receive(ctx context.Context, url string, ms *messageSet, max, wait int) ([]received, error) {
	body := []byte(`{"QueueUrl":` + jsonString(url) + `,"MaxNumberOfMessages":` + strconv.Itoa(max) + `,"WaitTimeSeconds":` + strconv.Itoa(wait) + `}`)
	var out struct{ Messages []received }
	if err := c.call(ctx, "ReceiveMessage", body, "", &out); err != nil {
		return nil, err
	}
	for _, m := range out.Messages {
		sum := md5.Sum([]byte(m.Body))
		got := hex.EncodeToString(sum[:])
		if got != m.MD5OfBody {
			return nil, fmt.Errorf("ReceiveMessage: message %s: MD5OfBody %q, body hashes to %q", m.MessageId, m.MD5OfBody, got)
		}
		if _, ok := ms.byMD5[got]; !ok {
			return nil, fmt.Errorf("ReceiveMessage: message %s: body is none of those sent", m.MessageId)
		}
	}
	return out.Messages, nil
}

func (c *sqsClient) deleteMessage(ctx context.Context, url, handle string) error {
	return c.call(ctx, "DeleteMessage", []byte(`{"QueueUrl":`+jsonString(url)+`,"ReceiptHandle":`+jsonString(handle)+`}`), "", nil)
}

// deleteBatch deletes msgs with DeleteMessageBatch; every entry must
// succeed.
func (c *sqsClient) deleteBatch(ctx context.Context, url string, msgs []received) error {
	var b bytes.Buffer
	b.WriteString(`{"QueueUrl":` + jsonString(url) + `,"Entries":[`)
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Id":"d` + strconv.Itoa(i) + `","ReceiptHandle":` + jsonString(m.ReceiptHandle) + `}`)
	}
	b.WriteString(`]}`)
	var out struct {
		Successful []struct{ Id string }
		Failed     []struct{ Id, Code, Message string }
	}
	if err := c.call(ctx, "DeleteMessageBatch", b.Bytes(), "", &out); err != nil {
		return err
	}
	if len(out.Failed) > 0 || len(out.Successful) != len(msgs) {
		return fmt.Errorf("DeleteMessageBatch: %d successful, %d failed of %d", len(out.Successful), len(out.Failed), len(msgs))
	}
	return nil
}
