package locationtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// FaultProxy is a reverse proxy in front of an S3 server that fails chosen
// requests the ways networks and stores do: an error status, a reply lost
// after the store acted, or a body cut short. It also records every
// request, so tests can check what a location sent.
type FaultProxy struct {
	// URL is the endpoint to give locations in place of the server's.
	URL string

	proxy  *httputil.ReverseProxy
	mu     sync.Mutex
	faults []*Fault
	log    []Request
}

// Fault describes requests to fail and how.
type Fault struct {
	// Match selects the requests; nil matches every request.
	Match func(*http.Request) bool
	// Times is how many matching requests fail; 0 means all of them.
	Times int

	// Status answers with this status and an S3 error, without passing
	// the request on.
	Status int
	// LoseReply passes the request on, then closes the connection
	// instead of replying: the store acted, the client never hears.
	LoseReply bool
	// CutAfter passes the request on and cuts the reply's body after this
	// many bytes, closing the connection.
	CutAfter int64

	hits int
}

// Request is one request the proxy saw.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
}

// NewFaultProxy starts a proxy to the server at upstream, stopped when the
// test ends.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// Requests are signed for the host the client dialled.
			r.Out.Host = r.In.Host
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Inject adds a fault; faults are tried in the order added.
func (p *FaultProxy) Inject(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// Clear removes every fault.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Requests returns the requests seen so far.
func (p *FaultProxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Hits returns how many requests f failed.
func (p *FaultProxy) Hits(f *Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f.hits
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.record(r)
	switch {
	case f == nil:
		p.proxy.ServeHTTP(w, r)
	case f.Status != 0:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<Error><Code>%s</Code><Message>injected fault</Message></Error>",
			faultCode(f.Status))
	case f.LoseReply:
		p.proxy.ServeHTTP(discard{header: http.Header{}}, r)
		panic(http.ErrAbortHandler)
	default:
		p.proxy.ServeHTTP(&cutter{ResponseWriter: w, left: f.CutAfter}, r)
	}
}

// record logs r and returns the fault to apply to it, if any.
func (p *FaultProxy) record(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Request{Method: r.Method, Path: r.URL.Path,
		Query: r.URL.Query(), Header: r.Header.Clone()})
	for _, f := range p.faults {
		if f.Match != nil && !f.Match(r) {
			continue
		}
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		f.hits++
		return f
	}
	return nil
}

func faultCode(status int) string {
	switch {
	case status == http.StatusServiceUnavailable:
		return "SlowDown"
	case status >= 500:
		return "InternalError"
	case status == http.StatusForbidden:
		return "AccessDenied"
	}
	return "InvalidRequest"
}

// discard is a response writer that throws the reply away.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// cutter passes on at most left bytes of a body, then aborts the reply.
type cutter struct {
	http.ResponseWriter
	left int64
}

func (c *cutter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.left {
		_, _ = c.ResponseWriter.Write(b[:c.left])
		c.left = 0
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(b))
	return c.ResponseWriter.Write(b)
}

// Op returns a match for one S3 operation, by method and by the query
// parameters that name it: "UploadPart", "CompleteMultipartUpload",
// "PutObject", "GetObject", "ListObjectsV2".
func Op(op string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		q := r.URL.Query()
		switch op {
		case "UploadPart":
			return r.Method == http.MethodPut && q.Has("partNumber")
		case "CompleteMultipartUpload":
			return r.Method == http.MethodPost && q.Has("uploadId")
		case "PutObject":
			return r.Method == http.MethodPut && !q.Has("partNumber") &&
				strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0
		case "GetObject":
			return r.Method == http.MethodGet && !q.Has("list-type") &&
				strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0
		case "ListObjectsV2":
			return r.Method == http.MethodGet && q.Get("list-type") == "2"
		}
		return false
	}
}

// And matches requests that every match selects.
func And(matches ...func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, m := range matches {
			if !m(r) {
				return false
			}
		}
		return true
	}
}

// PathSuffix matches requests whose path ends in suffix.
func PathSuffix(suffix string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, suffix) }
}
