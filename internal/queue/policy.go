package queue

import (
	"encoding/json"
	"errors"
)

// parsePolicy validates a queue Policy document.
func (s *Service) parsePolicy(doc string) (any, error) {
	if !json.Valid([]byte(doc)) {
		return nil, errors.New("Invalid value for the parameter Policy.")
	}
	return nil, nil
}
