// Package notify is the pure domain of a bucket's notification
// configuration: its model, the XML S3 accepts and returns, validation with
// S3's exact errors, rule matching, and which destinations get the
// s3:TestEvent message. It does no I/O: storing configurations, writing
// records and delivering them belong to the integration, which uses this
// API as described below.
//
// # Saving a configuration (PUT ?notification)
//
//  1. The edge reads at most MaxBodyBytes and calls Decode, which checks the
//     XML only (MalformedXML) and gives rules without an Id an Id in S3's
//     form (NewID: base64 of a random UUID).
//  2. Validate runs S3's checks in the fixed order: event names,
//     filter rules (names and counts), ARN syntax, overlap, destinations.
//     Every refusal is an *Error carrying AWS's Code, Message and
//     ArgumentName/ArgumentValue, or for the destination check the numbered
//     ArgumentNameN/ArgumentValueN pairs with AWS's text followed by
//     Sluice's precise reason. The edge renders it as a 400. Any other
//     error (from Destinations.Check) is an internal error.
//  3. Destinations are checked through the Destinations interface, which
//     the integration implements over the queue, topic and function
//     services (PolicyVerdict evaluates a destination's resource policy for
//     S3 and explains a refusal). ARN syntax uses arn.Parse, as AWS does;
//     the kind-specific parsers (arn.ParseQueue, ParseTopic, ParseFunction)
//     run at the destination step, so an ARN that parses but cannot name a
//     resource of that kind (seed 003's "arn:aws:lambda:...:cloud-function-A")
//     is a destination that does not exist, refused unless
//     x-amz-skip-destination-validation is set.
//  4. The integration stores Encode(cfg) (or deletes the record when
//     cfg.Empty()) and, in the same transaction, enqueues the s3:TestEvent
//     message (event.TestMessage) to each of TestTargets(cfg, report): the
//     queues and topics that exist, never functions. Nothing is enqueued when
//     Validate fails, so a failed PUT sends nothing.
//
// GET ?notification returns Encode of the stored configuration (the empty
// element when none is stored); the edge adds the XML declaration.
//
// # Producing events
//
// Inside the storage transaction of an object change, the integration
// loads the bucket's configuration, calls Match(cfg, name, key) and, for
// each Target, builds an event.Record (configurationId = Target's
// ConfigurationID), encodes it and enqueues an event.Envelope for the
// Target's destination. A configuration saved by one request is therefore
// used by the very next one. Match compares prefixes and suffixes
// literally: S3 keys may contain '*'. EventBridge is accepted and returned
// but Match never targets it.
//
// # Caveats (AWS behaviour not confirmed by a recording)
//
// The messages for unknown events, duplicate prefix/suffix rules and filter
// values over 1024 bytes, the ArgumentName/ArgumentValue of an overlap
// ("Event", "<event of one rule>, <event of the other>"), the element order
// GET uses inside a configuration (Sluice: Id, destination, Event...,
// Filter, the API model's order), and the limits on rules and events per
// rule (MaxRules, MaxEventsPerRule) are Sluice's best reading. Unknown XML
// elements are ignored rather than refused.
package notify
