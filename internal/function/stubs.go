package function

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// Temporary: the instance machinery lands in the next commits.
type pool struct{}
type instance struct{}
type logRing struct{}
type interpreters struct{}
type memoryLimiter interface{ name() string }
type offLimiter struct{}

func (offLimiter) name() string { return "off" }

func resolveInterpreters(Config, *slog.Logger) interpreters { return interpreters{} }
func newMemoryLimiter(MemoryMode, *slog.Logger) (memoryLimiter, error) {
	return offLimiter{}, nil
}
func (s *Service) retire(string) {}
func (s *Service) wake()         {}

// Invoke runs the function synchronously.
func (s *Service) Invoke(ctx context.Context, in InvokeInput) (InvokeOutput, error) {
	return InvokeOutput{}, errors.New("function: Invoke not built yet")
}

// Logs writes the function's kept log to w; with Follow it keeps writing.
func (s *Service) Logs(ctx context.Context, name string, opts LogOptions, w io.Writer) error {
	return errors.New("function: Logs not built yet")
}

// CurrentInvocation finds the instance whose credentials carry accessKeyID.
func (s *Service) CurrentInvocation(accessKeyID string) (Current, bool) { return Current{}, false }

// Close stops every instance and waits for them.
func (s *Service) Close() error { return nil }
