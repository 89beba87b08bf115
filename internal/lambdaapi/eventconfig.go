package lambdaapi

import (
	"net/http"
	"strconv"

	"sluice/internal/function"
)

// The event invoke configuration operations (aws-wire 2.1, path date
// 2019-09-25): retry and age limits and destinations of asynchronous
// invocations.

type eventInvokeConfigRequest struct {
	MaximumRetryAttempts     *int                        `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int                        `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *function.DestinationConfig `json:"DestinationConfig"`
}

func (r eventInvokeConfigRequest) input() function.EventInvokeConfigInput {
	return function.EventInvokeConfigInput{MaximumRetryAttempts: r.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: r.MaximumEventAgeInSeconds, DestinationConfig: r.DestinationConfig}
}

func (h *Handler) putEventInvokeConfig(c *call) error {
	var in eventInvokeConfigRequest
	if err := c.decode(&in); err != nil {
		return err
	}
	out, err := h.fn.PutEventInvokeConfig(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"), in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) updateEventInvokeConfig(c *call) error {
	var in eventInvokeConfigRequest
	if err := c.decode(&in); err != nil {
		return err
	}
	out, err := h.fn.UpdateEventInvokeConfig(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"), in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) getEventInvokeConfig(c *call) error {
	out, err := h.fn.GetEventInvokeConfig(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, out)
}

func (h *Handler) deleteEventInvokeConfig(c *call) error {
	if err := h.fn.DeleteEventInvokeConfig(c.ctx, c.name(), c.r.URL.Query().Get("Qualifier")); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}

func (h *Handler) listEventInvokeConfigs(c *call) error {
	if s := c.r.URL.Query().Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			return newErr("ValidationException", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50", s)
		}
	}
	list, err := h.fn.ListEventInvokeConfigs(c.ctx, c.name())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		FunctionEventInvokeConfigs []function.EventInvokeConfig `json:"FunctionEventInvokeConfigs"`
	}{list})
}
