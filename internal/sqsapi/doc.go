// Package sqsapi is the SQS edge: it speaks both wire protocols of SQS
// on Sluice's one port and maps them onto the queue domain.
//
//   - AWS JSON 1.0 (what botocore >= 1.34.90, aws-cli and aws-sdk-go-v2
//     send): POST / with X-Amz-Target: AmazonSQS.<Action> and a JSON body
//     whose members are the model's member names; responses are JSON;
//     errors carry {"__type","message"} and the legacy query code in the
//     x-amzn-query-error header ("<code>;Sender"), which botocore and
//     go-v2 report as the error code.
//   - The query protocol (older SDKs): Action=...&Version=2012-11-05 in a
//     form body or the URL, to "/" or to the queue's own path, with
//     flattened names (Attribute.1.Name); responses and errors are XML.
//     The form is translated to the JSON document of the same request, so
//     one set of input structs serves both protocols.
//
// The queue of a request is taken from its QueueUrl, of which only the
// last two path segments (<account>/<name>) count: clients put any host
// in it. QueueUrls handed out use Config.PublicURL.
//
// Every request is authenticated with SigV4 (service sqs). Every input is
// bounded and validated with SQS's error (see errors.go for the table);
// MD5OfMessageBody and MD5OfMessageAttributes are computed as AWS does,
// since the SDKs verify them. A ReceiveMessage response that cannot be
// written, or whose client left while messages were taken, releases those
// messages at once.
package sqsapi
