package function

import (
	"context"
	"encoding/json"
	"errors"

	"sluice/internal/storage"
)

// Event invoke configurations (Put/Get/Update/Delete/
// ListFunctionEventInvokeConfig(s)): the retry and age limits and the
// destinations of a function's asynchronous invocations. They live under
// "Fe/<name>/<qualifier>", beside the function record, and go with it on
// Delete. Sluice runs $LATEST only, so the qualifier is always $LATEST.

const eventConfigPrefix = "Fe/"

func eventConfigKey(name, qualifier string) []byte {
	return []byte(eventConfigPrefix + name + "/" + qualifier)
}

// EventInvokeConfig is Lambda's FunctionEventInvokeConfig, with its JSON
// names.
type EventInvokeConfig struct {
	LastModified             float64           `json:"LastModified"` // epoch seconds
	FunctionArn              string            `json:"FunctionArn"`  // qualified (":$LATEST")
	MaximumRetryAttempts     *int              `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int              `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        DestinationConfig `json:"DestinationConfig"`
}

// DestinationConfig names where records go after an asynchronous
// invocation; an empty Destination is none (written as {}).
type DestinationConfig struct {
	OnSuccess OnDestination `json:"OnSuccess"`
	OnFailure OnDestination `json:"OnFailure"`
}

// OnDestination is one destination ARN.
type OnDestination struct {
	Destination string `json:"Destination,omitempty"`
}

// EventInvokeConfigInput is a Put or Update request; nil fields are unset
// (Put) or unchanged (Update).
type EventInvokeConfigInput struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	DestinationConfig        *DestinationConfig
}

// storedEventConfig is the stored form.
type storedEventConfig struct {
	Modified   int64  `json:"m"` // unix ms
	MaxRetries *int   `json:"r,omitempty"`
	MaxAge     *int   `json:"a,omitempty"`
	OnSuccess  string `json:"s,omitempty"`
	OnFailure  string `json:"f,omitempty"`
}

// eventConfig is what an attempt applies (defaults filled in).
type eventConfig struct {
	maxRetries int
	maxAge     int // seconds
	onSuccess  string
	onFailure  string
	// recursiveLoop is the function's RecursiveLoop setting (recursion.go),
	// read in the same snapshot so an attempt applies one consistent view.
	recursiveLoop string
}

func (s *Service) eventConfig(ctx context.Context, name string) (eventConfig, error) {
	c := eventConfig{maxRetries: DefaultMaximumRetryAttempts, maxAge: DefaultMaximumEventAgeInSeconds}
	err := s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		if c.recursiveLoop, err = getRecursiveLoop(tx, name); err != nil {
			return err
		}
		st, err := getEventConfig(tx, name, Version)
		if err != nil || st == nil {
			return err
		}
		if st.MaxRetries != nil {
			c.maxRetries = *st.MaxRetries
		}
		if st.MaxAge != nil {
			c.maxAge = *st.MaxAge
		}
		c.onSuccess, c.onFailure = st.OnSuccess, st.OnFailure
		return nil
	})
	return c, err
}

func getEventConfig(tx storage.ReadTx, name, qualifier string) (*storedEventConfig, error) {
	v, err := tx.Get(eventConfigKey(name, qualifier))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st storedEventConfig
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func deleteEventConfigsTx(tx storage.Tx, name string) error {
	return tx.Delete(eventConfigKey(name, Version))
}

func (s *Service) eventConfigOut(name string, st *storedEventConfig) EventInvokeConfig {
	return EventInvokeConfig{
		LastModified:             float64(st.Modified) / 1000,
		FunctionArn:              s.functionARNLatest(name),
		MaximumRetryAttempts:     st.MaxRetries,
		MaximumEventAgeInSeconds: st.MaxAge,
		DestinationConfig: DestinationConfig{OnSuccess: OnDestination{Destination: st.OnSuccess},
			OnFailure: OnDestination{Destination: st.OnFailure}},
	}
}

func (s *Service) validateEventConfig(in EventInvokeConfigInput) error {
	if v := in.MaximumRetryAttempts; v != nil {
		if *v < 0 {
			return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0", *v)
		}
		if *v > 2 {
			return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *v)
		}
	}
	if v := in.MaximumEventAgeInSeconds; v != nil {
		if *v < MinMaximumEventAgeInSeconds {
			return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60", *v)
		}
		if *v > DefaultMaximumEventAgeInSeconds {
			return newErr(ErrValidation, "1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600", *v)
		}
	}
	if d := in.DestinationConfig; d != nil {
		if v := d.OnSuccess.Destination; v != "" {
			if err := s.validateDestination("destinationConfig.onSuccess.destination", v, true); err != nil {
				return err
			}
		}
		if v := d.OnFailure.Destination; v != "" {
			if err := s.validateDestination("destinationConfig.onFailure.destination", v, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventConfigName resolves the function and qualifier of an event invoke
// configuration call; only $LATEST (or none) exists.
func (s *Service) eventConfigName(fn, qualifier string) (string, error) {
	return s.resolve(fn, qualifier)
}

// PutEventInvokeConfig is PutFunctionEventInvokeConfig: it replaces the
// whole configuration (settings left out are removed). ErrNotFound,
// ErrValidation (bounds), ErrInvalidParameter (a destination Sluice
// cannot deliver to).
func (s *Service) PutEventInvokeConfig(ctx context.Context, fn, qualifier string, in EventInvokeConfigInput) (EventInvokeConfig, error) {
	return s.writeEventConfig(ctx, fn, qualifier, in, true)
}

// UpdateEventInvokeConfig is UpdateFunctionEventInvokeConfig: the settings
// given replace the stored ones. ErrNotFound also when the function has
// no configuration yet.
func (s *Service) UpdateEventInvokeConfig(ctx context.Context, fn, qualifier string, in EventInvokeConfigInput) (EventInvokeConfig, error) {
	return s.writeEventConfig(ctx, fn, qualifier, in, false)
}

func (s *Service) writeEventConfig(ctx context.Context, fn, qualifier string, in EventInvokeConfigInput, replace bool) (EventInvokeConfig, error) {
	name, err := s.eventConfigName(fn, qualifier)
	if err != nil {
		return EventInvokeConfig{}, err
	}
	if err := s.validateEventConfig(in); err != nil {
		return EventInvokeConfig{}, err
	}
	now := s.clock.Now().UnixMilli()
	var out *storedEventConfig
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		st, err := getEventConfig(tx, name, Version)
		if err != nil {
			return err
		}
		switch {
		case st == nil && !replace:
			return s.noEventConfig(name)
		case st == nil || replace:
			st = &storedEventConfig{}
		}
		if in.MaximumRetryAttempts != nil {
			v := *in.MaximumRetryAttempts
			st.MaxRetries = &v
		}
		if in.MaximumEventAgeInSeconds != nil {
			v := *in.MaximumEventAgeInSeconds
			st.MaxAge = &v
		}
		if d := in.DestinationConfig; d != nil {
			st.OnSuccess, st.OnFailure = d.OnSuccess.Destination, d.OnFailure.Destination
		}
		st.Modified = now
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		out = st
		return tx.Set(eventConfigKey(name, Version), b)
	})
	if err != nil {
		return EventInvokeConfig{}, err
	}
	return s.eventConfigOut(name, out), nil
}

func (s *Service) noEventConfig(name string) error {
	return newErr(ErrNotFound, "The function %s doesn't have an EventInvokeConfig", s.functionARNLatest(name))
}

// GetEventInvokeConfig is GetFunctionEventInvokeConfig. ErrNotFound when
// the function or its configuration does not exist.
func (s *Service) GetEventInvokeConfig(ctx context.Context, fn, qualifier string) (EventInvokeConfig, error) {
	name, err := s.eventConfigName(fn, qualifier)
	if err != nil {
		return EventInvokeConfig{}, err
	}
	var st *storedEventConfig
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		var err error
		st, err = getEventConfig(tx, name, Version)
		if err == nil && st == nil {
			return s.noEventConfig(name)
		}
		return err
	})
	if err != nil {
		return EventInvokeConfig{}, err
	}
	return s.eventConfigOut(name, st), nil
}

// DeleteEventInvokeConfig is DeleteFunctionEventInvokeConfig. ErrNotFound
// when the function or its configuration does not exist.
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, fn, qualifier string) error {
	name, err := s.eventConfigName(fn, qualifier)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		st, err := getEventConfig(tx, name, Version)
		if err != nil {
			return err
		}
		if st == nil {
			return s.noEventConfig(name)
		}
		return tx.Delete(eventConfigKey(name, Version))
	})
}

// ListEventInvokeConfigs is ListFunctionEventInvokeConfigs: the function's
// configurations (at most one, for $LATEST). Marker and MaxItems page
// through one item, so they are accepted and have nothing to skip.
func (s *Service) ListEventInvokeConfigs(ctx context.Context, fn string) ([]EventInvokeConfig, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return nil, err
	}
	out := []EventInvokeConfig{}
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		out = out[:0]
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		st, err := getEventConfig(tx, name, Version)
		if err != nil || st == nil {
			return err
		}
		out = append(out, s.eventConfigOut(name, st))
		return nil
	})
	return out, err
}

// DeadLetterConfig is a function's dead-letter queue for failed
// asynchronous invocations (FunctionConfiguration.DeadLetterConfig).
type DeadLetterConfig struct {
	TargetArn string `json:"TargetArn"`
}
