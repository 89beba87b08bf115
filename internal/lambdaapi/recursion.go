package lambdaapi

import (
	"net/http"
)

// The recursion configuration operations (path date 2024-08-31):
// whether Lambda stops a function invoked in a recursive loop.

type recursionConfig struct {
	RecursiveLoop string `json:"RecursiveLoop"`
}

func (h *Handler) putRecursionConfig(c *call) error {
	var in recursionConfig
	if err := c.decode(&in); err != nil {
		return err
	}
	out, err := h.fn.PutRecursionConfig(c.ctx, c.name(), in.RecursiveLoop)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, recursionConfig{RecursiveLoop: out})
}

func (h *Handler) getRecursionConfig(c *call) error {
	out, err := h.fn.GetRecursionConfig(c.ctx, c.name())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, recursionConfig{RecursiveLoop: out})
}
