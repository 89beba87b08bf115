package server

import (
	"context"
	"time"

	"sluice/internal/arn"
	"sluice/internal/event"
	"sluice/internal/eventsource"
	"sluice/internal/function"
	"sluice/internal/queue"
)

// mappingQueues lets event source mappings read Sluice's SQS queues.
type mappingQueues struct{ q *queue.Service }

func (m mappingQueues) QueueName(ctx context.Context, queueARN string) (string, error) {
	name, err := m.q.NameFromARN(queueARN)
	if err != nil {
		return "", err
	}
	return name, m.q.Exists(ctx, name)
}

func (m mappingQueues) Receive(ctx context.Context, name string, max int, wait time.Duration) ([]eventsource.Message, error) {
	msgs, err := m.q.Receive(ctx, name, queue.ReceiveInput{Max: max, Wait: &wait})
	if err != nil {
		return nil, err
	}
	return MappingMessages(msgs), nil
}

func (m mappingQueues) Delete(ctx context.Context, name string, handles []string) error {
	if len(handles) == 0 {
		return nil
	}
	_, err := m.q.DeleteBatch(ctx, name, handles)
	return err
}

// MappingMessages converts received SQS messages to what the SQS event
// shows (exported for the eventsource tests' adapter).
func MappingMessages(msgs []queue.Message) []eventsource.Message {
	out := make([]eventsource.Message, len(msgs))
	for i, msg := range msgs {
		em := eventsource.Message{ID: msg.ID, ReceiptHandle: msg.ReceiptHandle, Body: msg.Body, SenderID: msg.SenderID,
			TraceHeader: msg.TraceHeader, Sent: msg.Sent, FirstReceive: msg.FirstReceive, ReceiveCount: msg.ReceiveCount,
			MD5OfBody: queue.MD5OfBody(msg.Body), Lineage: msg.Lineage}
		if len(msg.Attributes) > 0 {
			em.MD5OfAttributes = queue.MD5OfAttributes(msg.Attributes)
			em.Attributes = map[string]eventsource.Attribute{}
			for k, a := range msg.Attributes {
				em.Attributes[k] = eventsource.Attribute{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
			}
		}
		out[i] = em
	}
	return out
}

// mappingFunctions lets event source mappings invoke functions.
type mappingFunctions struct{ f *function.Service }

func (m mappingFunctions) FunctionARN(ctx context.Context, name string) (string, error) {
	if _, err := m.f.GetConfiguration(ctx, name, ""); err != nil {
		return "", err
	}
	a, err := arn.ResolveFunction(name, m.f.Region(), m.f.AccountID())
	if err != nil {
		return "", err
	}
	return arn.Function(m.f.Region(), m.f.AccountID(), a.Name, a.Qualifier).String(), nil
}

func (m mappingFunctions) Invoke(ctx context.Context, functionARN string, payload []byte, lineage event.Lineage) ([]byte, bool, error) {
	// The chain's trace id goes on, as for an asynchronous event.
	out, err := m.f.Invoke(ctx, function.InvokeInput{Name: functionARN, Payload: payload, TraceID: lineage.TraceID, Lineage: lineage})
	return out.Payload, out.FunctionError != "", err
}

func (m mappingFunctions) StopsRecursion(ctx context.Context, functionARN string, lineage event.Lineage) (bool, error) {
	return m.f.StopsRecursion(ctx, functionARN, lineage)
}

func (m mappingFunctions) CountRecursionStopped(functionARN string, n int) {
	m.f.CountRecursionStopped(functionARN, n)
}

// buildMappings builds the event source mapping service; Run starts the
// stored mappings' pollers.
func (s *Server) buildMappings() *eventsource.Service {
	return eventsource.New(eventsource.Config{Store: s.store, Queues: mappingQueues{s.queues}, Functions: mappingFunctions{s.functions},
		Clock: s.cfg.Clock, Logger: s.cfg.Logger, Region: s.cfg.Region, AccountID: s.cfg.AccountID})
}
