package lambdaapi

import (
	"net/http"

	"sluice/internal/eventsource"
)

// Event source mappings (Lambda API reference: CreateEventSourceMapping and
// friends, under /2015-03-31/event-source-mappings/). Create, Update and
// Delete answer 202 with the mapping, as Lambda does.

type mappingBody struct {
	EventSourceArn                 string                     `json:"EventSourceArn"`
	FunctionName                   *string                    `json:"FunctionName"`
	BatchSize                      *int                       `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int                       `json:"MaximumBatchingWindowInSeconds"`
	Enabled                        *bool                      `json:"Enabled"`
	FunctionResponseTypes          *[]string                  `json:"FunctionResponseTypes"`
	ScalingConfig                  *eventsource.ScalingConfig `json:"ScalingConfig"`
	StartingPosition               string                     `json:"StartingPosition"`
}

func (b mappingBody) input() eventsource.Input {
	return eventsource.Input{EventSourceArn: b.EventSourceArn, FunctionName: b.FunctionName, BatchSize: b.BatchSize,
		MaximumBatchingWindowInSeconds: b.MaximumBatchingWindowInSeconds, Enabled: b.Enabled,
		FunctionResponseTypes: b.FunctionResponseTypes, ScalingConfig: b.ScalingConfig}
}

func (h *Handler) mappingService() (*eventsource.Service, error) {
	if h.mappings == nil {
		return nil, newErr("NotImplemented", "This server does not serve event source mappings")
	}
	return h.mappings, nil
}

func (h *Handler) createMapping(c *call) error {
	m, err := h.mappingService()
	if err != nil {
		return err
	}
	var in mappingBody
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.StartingPosition != "" {
		return newErr("InvalidParameterValueException", "StartingPosition is not valid for source type SQS")
	}
	out, err := m.Create(c.ctx, in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusAccepted, out)
}

func (h *Handler) listMappings(c *call) error {
	m, err := h.mappingService()
	if err != nil {
		return err
	}
	max, err := c.maxItems()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	list, next, err := m.List(c.ctx, q.Get("EventSourceArn"), q.Get("FunctionName"), q.Get("Marker"), max)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		EventSourceMappings []eventsource.Mapping `json:"EventSourceMappings"`
		NextMarker          string                `json:"NextMarker,omitempty"`
	}{list, next})
}

func (h *Handler) getMapping(c *call) error {
	m, err := h.mappingService()
	if err != nil {
		return err
	}
	out, err := m.Get(c.ctx, c.segs[2])
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) updateMapping(c *call) error {
	m, err := h.mappingService()
	if err != nil {
		return err
	}
	var in mappingBody
	if err := c.decode(&in); err != nil {
		return err
	}
	out, err := m.Update(c.ctx, c.segs[2], in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusAccepted, out)
}

func (h *Handler) deleteMapping(c *call) error {
	m, err := h.mappingService()
	if err != nil {
		return err
	}
	out, err := m.Delete(c.ctx, c.segs[2])
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusAccepted, out)
}
