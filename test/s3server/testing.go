package s3server

import (
	"testing"
)

// New starts a server for one test and stops it when the test ends. The
// server's files stay in the test's temporary folder until then.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Bucket creates a bucket on s for one test, failing the test on error.
func (s *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	if err := s.CreateBucket(t.Context(), name); err != nil {
		t.Fatal(err)
	}
}

// Credentials writes a credentials file with the root keys into a
// temporary folder of t and returns its path.
func (s *Server) Credentials(t testing.TB) string {
	t.Helper()
	file := t.TempDir() + "/credentials"
	if err := WriteCredentials(file, s.AccessKey, s.SecretKey); err != nil {
		t.Fatal(err)
	}
	return file
}
