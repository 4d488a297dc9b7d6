package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// NotifyContext returns a copy of parent that is cancelled when SIGINT or
// SIGTERM arrives, with the signal as its cause, so that Interrupted can
// tell an interrupted command from a failed one. Commands clean up after a
// cancelled context (a half-written backup is removed) before they return.
//
// The first signal also stops catching signals, and says so on stderr: a
// cleanup that hangs, on a location that does not answer, say, is not
// waited for when a second signal comes, which ends the process at once
// as if it had never been caught. The stop function stops catching the
// signals.
func NotifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case s := <-sigs:
			// Stopped before the cancel, so that a second signal
			// during the cleanup it starts is never swallowed.
			signal.Stop(sigs)
			fmt.Fprintln(os.Stderr, stoppingMessage(s))
			cancel(&signalError{sig: s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(nil)
		<-done
	}
}

// stoppingMessage is what the first signal prints.
func stoppingMessage(sig os.Signal) string {
	again := "press Ctrl-C again to stop at once"
	if sig != os.Interrupt {
		again = "a second " + signalName(sig) + " or Ctrl-C stops at once"
	}
	return "cairn: stopping (removing what was half written); " + again
}

// signalError is the cause of a context NotifyContext cancelled.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return signalName(e.sig) + " received" }

// Interrupted returns the error of a command that ctx, made by
// NotifyContext, says a signal stopped, marked with the signal so that
// ExitCode returns 128 plus its number, as shells do. It returns other
// errors, and nil, unchanged: a command that ends well despite a signal,
// like the server shutting down on SIGTERM, succeeds.
func Interrupted(ctx context.Context, err error) error {
	var s *signalError
	if err == nil || !errors.As(context.Cause(ctx), &s) {
		return err
	}
	return &interruptedError{sig: s.sig, err: err}
}

// interruptedError is a command's error when a signal stopped it.
type interruptedError struct {
	sig os.Signal
	err error
}

func (e *interruptedError) Error() string {
	if errors.Is(e.err, context.Canceled) { // says no more than the signal
		return "stopped by " + signalName(e.sig)
	}
	return "stopped by " + signalName(e.sig) + ": " + e.err.Error()
}

func (e *interruptedError) Unwrap() error { return e.err }

// exitCode is 128 plus the signal's number.
func (e *interruptedError) exitCode() int {
	if n, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
