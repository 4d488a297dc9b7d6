package location

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"
)

// CheckPrefix is the key prefix of the objects Check writes. Each check
// writes one object under a random name, so that checks running at once
// never meet, and deletes it at the end.
const CheckPrefix = "cairn-check/"

// The steps of a check, in order.
const (
	StepList   = "list"
	StepWrite  = "write"
	StepRead   = "read"
	StepDelete = "delete"
)

// CheckReport is what Check found. Throughputs are in decimal megabytes
// per second, measured on one streamed object.
type CheckReport struct {
	URL      string      `json:"url"`
	ReadOnly bool        `json:"readOnly,omitempty"`
	OK       bool        `json:"ok"`
	Steps    []CheckStep `json:"steps"`
	// ProbeBytes is the size of the object written and read back.
	ProbeBytes   int64   `json:"probeBytes,omitempty"`
	UploadMBps   float64 `json:"uploadMBps,omitempty"`
	DownloadMBps float64 `json:"downloadMBps,omitempty"`
}

// CheckStep is the outcome of one step.
type CheckStep struct {
	Name    string  `json:"name"`
	OK      bool    `json:"ok"`
	Skipped bool    `json:"skipped,omitempty"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// Check tells whether the location answers and works as backups need: it
// lists keys (reachability and credentials), then streams size bytes of
// random data into one object, reads it back comparing the SHA-256, and
// deletes it. A read-only location is only listed. A failed step is
// recorded in the report, not returned, and ends the check; the error
// returned is for a cancelled ctx only.
func (l *Location) Check(ctx context.Context, size int64) (*CheckReport, error) {
	rep := &CheckReport{URL: l.URL, ReadOnly: l.ReadOnly}
	key, err := checkKey()
	if err != nil {
		return nil, err
	}

	ok := rep.step(StepList, func() error {
		_, err := l.List(ctx, CheckPrefix, "/")
		return err
	})
	if l.ReadOnly {
		for _, s := range []string{StepWrite, StepRead, StepDelete} {
			rep.Steps = append(rep.Steps, CheckStep{Name: s, OK: true, Skipped: true})
		}
	} else if ok {
		rep.ProbeBytes = size
		l.probe(ctx, rep, key, size)
	}

	rep.OK = true
	for _, s := range rep.Steps {
		rep.OK = rep.OK && s.OK
	}
	return rep, ctx.Err()
}

// probe runs the write, read and delete steps.
func (l *Location) probe(ctx context.Context, rep *CheckReport, key string, size int64) {
	var sum []byte
	ok := rep.step(StepWrite, func() error {
		var err error
		sum, err = l.writeProbe(ctx, key, size)
		return err
	})
	if !ok {
		return
	}
	rep.UploadMBps = mbps(size, rep.Steps[len(rep.Steps)-1].Seconds)

	ok = rep.step(StepRead, func() error { return l.readProbe(ctx, key, size, sum) })
	if ok {
		rep.DownloadMBps = mbps(size, rep.Steps[len(rep.Steps)-1].Seconds)
	}
	// Delete even when the read failed, so that no probe stays behind.
	rep.step(StepDelete, func() error { return l.Delete(ctx, key) })
}

// step runs one step, timing it, and records its outcome.
func (rep *CheckReport) step(name string, f func() error) bool {
	start := time.Now()
	err := f()
	s := CheckStep{Name: name, OK: err == nil, Seconds: time.Since(start).Seconds()}
	if err != nil {
		s.Error = err.Error()
	}
	rep.Steps = append(rep.Steps, s)
	return s.OK
}

// writeProbe streams size random bytes into key, as an archive is
// streamed, and returns their SHA-256. Random bytes do not compress, so
// no layer on the way can make the figure look better than it is.
func (l *Location) writeProbe(ctx context.Context, key string, size int64) ([]byte, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	w, err := l.NewWriter(ctx, key)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(w, h), mrand.NewChaCha8(seed), size); err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// readProbe reads key back and compares it with what was written.
func (l *Location) readProbe(ctx context.Context, key string, size int64, sum []byte) error {
	r, err := l.Open(ctx, key)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("read %s in %s: %w", key, l.URL, err)
	}
	if n != size {
		return fmt.Errorf("read %s in %s: got %d bytes of the %d written", key, l.URL, n, size)
	}
	if !bytes.Equal(h.Sum(nil), sum) {
		return fmt.Errorf("read %s in %s: the bytes differ from those written", key, l.URL)
	}
	return nil
}

func checkKey() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return CheckPrefix + hex.EncodeToString(b[:]), nil
}

func mbps(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / 1e6 / seconds
}
