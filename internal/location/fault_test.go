package location_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/location/locationtest"
	"github.com/cairn-backup/cairn/test/s3server"
)

// faultEnv is a location reaching an S3 server through a fault proxy.
type faultEnv struct {
	srv    *s3server.Server
	proxy  *locationtest.FaultProxy
	loc    *location.Location
	bucket string
}

func newFaultEnv(t *testing.T, srv *s3server.Server, bucket string) *faultEnv {
	t.Helper()
	srv.Bucket(t, bucket)
	proxy := locationtest.NewFaultProxy(t, srv.Endpoint)
	url := strings.Replace(srv.URL(bucket, "p"), srv.Endpoint, proxy.URL, 1)
	l, err := location.OpenWith(t.Context(), url,
		location.Options{CredentialsFile: srv.Credentials(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &faultEnv{srv: srv, proxy: proxy, loc: l, bucket: bucket}
}

// assertNothing checks that key is not an object and that no unfinished
// upload of it is stored.
func (e *faultEnv) assertNothing(t *testing.T, key string) {
	t.Helper()
	if ok, err := e.loc.Exists(t.Context(), key); ok || err != nil {
		t.Errorf("Exists(%s) = %v, %v; want false", key, ok, err)
	}
	out, err := e.srv.Client().ListMultipartUploads(t.Context(),
		&s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.Uploads {
		t.Errorf("unfinished upload of %s left behind", aws.ToString(u.Key))
	}
}

func TestS3Faults(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	const big = 40 << 20 // past the multipart threshold
	for _, tc := range []struct {
		name  string
		fault *locationtest.Fault
		run   func(t *testing.T, e *faultEnv)
	}{{
		name:  "FailedPartLeavesNothing",
		fault: &locationtest.Fault{Match: locationtest.Op("UploadPart"), Status: 400},
		run: func(t *testing.T, e *faultEnv) {
			if err := locationtest.WriteStream(t.Context(), e.loc, "a", big); err == nil {
				t.Fatal("write with failing parts succeeded")
			}
			e.assertNothing(t, "a")
		},
	}, {
		name: "FailedCompleteLeavesNothing",
		fault: &locationtest.Fault{Match: locationtest.Op("CompleteMultipartUpload"),
			Status: 400},
		run: func(t *testing.T, e *faultEnv) {
			if err := locationtest.WriteStream(t.Context(), e.loc, "a", big); err == nil {
				t.Fatal("write with a failing completion succeeded")
			}
			e.assertNothing(t, "a")
		},
	}, {
		name: "AbortLeavesNoParts",
		run: func(t *testing.T, e *faultEnv) {
			w, err := e.loc.NewWriter(t.Context(), "a")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(bytes.Repeat([]byte{1}, big)); err != nil {
				t.Fatal(err)
			}
			w.Abort()
			e.assertNothing(t, "a")
		},
	}, {
		name:  "FailedPutIfAbsentDoesNotPublish",
		fault: &locationtest.Fault{Match: locationtest.Op("PutObject"), Status: 400},
		run: func(t *testing.T, e *faultEnv) {
			err := e.loc.PutIfAbsent(t.Context(), "manifest.json", []byte("m"))
			if err == nil || errors.Is(err, location.ErrExists) {
				t.Fatalf("PutIfAbsent = %v, want a write error", err)
			}
			e.assertNothing(t, "manifest.json")
		},
	}, {
		name: "LostReplyOfPutIfAbsent",
		fault: &locationtest.Fault{Match: locationtest.Op("PutObject"), Times: 1,
			LoseReply: true},
		run: func(t *testing.T, e *faultEnv) {
			// The store wrote the object; the client's retry meets it.
			if err := e.loc.PutIfAbsent(t.Context(), "manifest.json", []byte("m")); err != nil {
				t.Fatalf("PutIfAbsent after a lost reply = %v", err)
			}
			if got, _ := e.loc.Get(t.Context(), "manifest.json"); string(got) != "m" {
				t.Fatalf("object = %q", got)
			}
		},
	}, {
		name: "ReadCutMidStream",
		run: func(t *testing.T, e *faultEnv) {
			if err := locationtest.WriteStream(t.Context(), e.loc, "a", 4<<20); err != nil {
				t.Fatal(err)
			}
			e.proxy.Inject(&locationtest.Fault{Match: locationtest.Op("GetObject"),
				CutAfter: 1 << 20})
			r, err := e.loc.Open(t.Context(), "a")
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, r)
			_ = r.Close()
			if err == nil {
				t.Fatalf("read of a cut reply ended without error after %d bytes", n)
			}
			if _, err := e.loc.Get(t.Context(), "a"); err == nil {
				t.Fatal("Get of a cut reply succeeded")
			}
		},
	}, {
		name: "ThrottledRequestsAreRetried",
		fault: &locationtest.Fault{Match: locationtest.Op("PutObject"), Times: 2,
			Status: http.StatusServiceUnavailable},
		run: func(t *testing.T, e *faultEnv) {
			if err := e.loc.Put(t.Context(), "a", []byte("x")); err != nil {
				t.Fatalf("Put after two SlowDown replies = %v", err)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFaultEnv(t, srv, "faults-"+strings.ToLower(tc.name))
			if tc.fault != nil {
				e.proxy.Inject(tc.fault)
			}
			tc.run(t, e)
		})
	}
}

// TestS3PutIfAbsentIsConditional checks that PutIfAbsent asks the store
// for a conditional write, rather than relying on its existence check.
func TestS3PutIfAbsentIsConditional(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	e := newFaultEnv(t, srv, "conditional")
	if err := e.loc.PutIfAbsent(t.Context(), "m", []byte("m")); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.proxy.Requests() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/p/m") {
			if got := r.Header.Get("If-None-Match"); got != "*" {
				t.Fatalf("PUT carried If-None-Match %q, want *", got)
			}
			return
		}
	}
	t.Fatal("no PUT of the object seen")
}
