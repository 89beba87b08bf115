package lambdaapi

import (
	"net/http"
	"strconv"

	"sluice/internal/function"
)

// Versions and aliases (Lambda API reference: PublishVersion,
// ListVersionsByFunction, CreateAlias, GetAlias, UpdateAlias, DeleteAlias,
// ListAliases), all under /2015-03-31/functions/{FunctionName}/.

func (h *Handler) publishVersion(c *call) error {
	var in struct {
		CodeSha256  string `json:"CodeSha256"`
		Description string `json:"Description"`
		RevisionId  string `json:"RevisionId"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	cfg, err := h.fn.PublishVersion(c.ctx, c.name(), in.CodeSha256, in.Description, in.RevisionId)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusCreated, cfg)
}

// maxItems reads the MaxItems query parameter (1..10000; 0 when absent).
func (c *call) maxItems() (int, error) {
	s := c.r.URL.Query().Get("MaxItems")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, newErr("ValidationException", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000", s)
	}
	return n, nil
}

func (h *Handler) listVersions(c *call) error {
	max, err := c.maxItems()
	if err != nil {
		return err
	}
	vs, next, err := h.fn.ListVersions(c.ctx, c.name(), c.r.URL.Query().Get("Marker"), max)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Versions   []function.Configuration `json:"Versions"`
		NextMarker string                   `json:"NextMarker,omitempty"`
	}{vs, next})
}

// aliasBody is CreateAlias' and UpdateAlias' JSON body.
type aliasBody struct {
	Name            string                  `json:"Name"`
	FunctionVersion *string                 `json:"FunctionVersion"`
	Description     *string                 `json:"Description"`
	RoutingConfig   *function.RoutingConfig `json:"RoutingConfig"`
	RevisionId      string                  `json:"RevisionId"`
}

func (b aliasBody) input() function.AliasInput {
	return function.AliasInput{FunctionVersion: b.FunctionVersion, Description: b.Description,
		RoutingConfig: b.RoutingConfig, RevisionId: b.RevisionId}
}

func (h *Handler) createAlias(c *call) error {
	var in aliasBody
	if err := c.decode(&in); err != nil {
		return err
	}
	a, err := h.fn.CreateAlias(c.ctx, c.name(), in.Name, in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusCreated, a)
}

func (h *Handler) listAliases(c *call) error {
	max, err := c.maxItems()
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	as, next, err := h.fn.ListAliases(c.ctx, c.name(), q.Get("FunctionVersion"), q.Get("Marker"), max)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Aliases    []function.Alias `json:"Aliases"`
		NextMarker string           `json:"NextMarker,omitempty"`
	}{as, next})
}

func (h *Handler) getAlias(c *call) error {
	a, err := h.fn.GetAlias(c.ctx, c.name(), c.segs[4])
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, a)
}

func (h *Handler) updateAlias(c *call) error {
	var in aliasBody
	if err := c.decode(&in); err != nil {
		return err
	}
	a, err := h.fn.UpdateAlias(c.ctx, c.name(), c.segs[4], in.input())
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, a)
}

func (h *Handler) deleteAlias(c *call) error {
	if err := h.fn.DeleteAlias(c.ctx, c.name(), c.segs[4]); err != nil {
		return err
	}
	return c.writeEmpty(http.StatusNoContent)
}
