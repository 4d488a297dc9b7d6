package location_test

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/location/locationtest"
	"github.com/cairn-backup/cairn/test/s3server"
)

// openS3 opens a location on a new bucket of srv.
func openS3(t *testing.T, srv *s3server.Server, bucket, prefix string) *location.Location {
	t.Helper()
	srv.Bucket(t, bucket)
	l, err := location.OpenWith(t.Context(), srv.URL(bucket, prefix),
		location.Options{CredentialsFile: srv.Credentials(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestS3Conformance(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	for _, tc := range []struct {
		name, bucket, prefix string
	}{
		{"BucketRoot", "root-bucket", ""},
		{"Prefix", "prefixed-bucket", "team/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			locationtest.Run(t, openS3(t, srv, tc.bucket, tc.prefix))
		})
	}
}

// TestS3LargeStream streams 64 MiB through a writer, as a backup archive
// is, and reads it back whole.
func TestS3LargeStream(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	l := openS3(t, srv, "large", "archives")
	const size = 64 << 20
	rng := rand.NewChaCha8([32]byte{7})

	w, err := l.NewWriter(t.Context(), "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	start := time.Now()
	if _, err := io.CopyN(io.MultiWriter(w, sum), rng, size); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)

	start = time.Now()
	r, err := l.Open(t.Context(), "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	back := sha256.New()
	n, err := io.Copy(back, r)
	_ = r.Close()
	if err != nil || n != size {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	down := time.Since(start)
	if string(back.Sum(nil)) != string(sum.Sum(nil)) {
		t.Fatal("SHA-256 of the object read back differs from what was written")
	}
	t.Logf("64 MiB: upload %.0f MB/s, download %.0f MB/s",
		size/1e6/up.Seconds(), size/1e6/down.Seconds())
}
