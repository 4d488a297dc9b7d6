// Package s3server runs a real S3-compatible server for tests: the pinned
// versitygw from test/s3bin with its posix backend, on a free loopback port,
// storing buckets as folders under a temporary root. Tests reach it through
// s3:// location URLs and a credentials file, as users reach their stores.
package s3server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Root keys of every server; tests only, on loopback.
const (
	accessKey = "cairn-test-root"
	secretKey = "cairn-test-root-secret"
	region    = "us-east-1"
)

const readyTimeout = 30 * time.Second

// Options change how the server starts.
type Options struct {
	// IAM keeps accounts in a folder beside the root, so that tests can
	// add and remove keys with the admin API while the server runs.
	IAM bool
	// Versioning enables bucket versioning support.
	Versioning bool
}

// Server is a running S3-compatible server.
type Server struct {
	// Endpoint is the server's address, as in http://127.0.0.1:41234.
	Endpoint string
	// Dir holds the server's files: root/ (one folder a bucket), its log
	// and its access log.
	Dir string
	// AccessKey and SecretKey are the root account's keys.
	AccessKey, SecretKey string

	bin  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Binary returns the path of the pinned server binary, building it with
// hack/s3bin.sh when missing (once per machine).
func Binary(ctx context.Context) (string, error) {
	script := filepath.Join(repoRoot(), "hack", "s3bin.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the S3 test server with %s: %w", script, err)
	}
	bin := strings.TrimSpace(out.String())
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("S3 test server missing after build: %w", err)
	}
	return bin, nil
}

// Start runs a server with its files under dir, which must exist.
func Start(ctx context.Context, dir string, opts Options) (*Server, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
		return nil, err
	}
	// A port found free may be taken before the server binds it; try again.
	for attempt := 0; ; attempt++ {
		s := &Server{Dir: dir, AccessKey: accessKey, SecretKey: secretKey, bin: bin}
		err := s.start(ctx, opts)
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			return nil, err
		}
	}
}

func (s *Server) start(ctx context.Context, opts Options) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	s.Endpoint = "http://" + addr
	args := []string{
		"--port", addr, "--region", region, "--quiet",
		"--access-log", filepath.Join(s.Dir, "access.log"),
	}
	if opts.IAM {
		iam := filepath.Join(s.Dir, "iam")
		if err := os.MkdirAll(iam, 0o700); err != nil {
			return err
		}
		args = append(args, "--iam-dir", iam)
	}
	args = append(args, "posix")
	if opts.Versioning {
		versions := filepath.Join(s.Dir, "versions")
		if err := os.MkdirAll(versions, 0o755); err != nil {
			return err
		}
		args = append(args, "--versioning-dir", versions)
	}
	args = append(args, filepath.Join(s.Dir, "root"))

	log, err := os.OpenFile(filepath.Join(s.Dir, "versitygw.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+accessKey, "ROOT_SECRET_KEY="+secretKey)
	s.cmd.Stdout = log
	s.cmd.Stderr = log
	// Its own process group, so a terminal's Ctrl-C reaches only the test
	// binary, which stops the server itself; killed if the test binary dies.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	s.done = make(chan struct{})
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return err
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// waitReady waits until the server answers HTTP.
func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("versitygw exited early (%v); see %s", s.err,
				filepath.Join(s.Dir, "versitygw.log"))
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("versitygw did not answer within %s", readyTimeout)
}

// Stop ends the server by its PID: SIGTERM, then SIGKILL after a grace
// period.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill versitygw: %w", err)
	}
	<-s.done
	return nil
}

// Client returns an S3 client with the root keys.
func (s *Server) Client() *s3.Client {
	return s.ClientWith(s.AccessKey, s.SecretKey)
}

// ClientWith returns an S3 client with other keys.
func (s *Server) ClientWith(access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
}

// CreateBucket makes a bucket.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// URL returns the location URL of a bucket and key prefix on this server.
func (s *Server) URL(bucket, prefix string) string {
	u := "s3://" + bucket
	if prefix != "" {
		u += "/" + strings.Trim(prefix, "/")
	}
	return u + "?endpoint=" + s.Endpoint + "&region=" + region + "&use_path_style=true"
}

// WriteCredentials writes an AWS shared credentials file with the given
// keys as its default profile.
func WriteCredentials(file, access, secret string) error {
	content := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		access, secret)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// AccessLog returns the server's access log so far: one line a request.
func (s *Server) AccessLog() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, "access.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n"), nil
}

// Admin runs a versitygw admin command against the server, such as
// create-user or delete-user; the server must run with Options.IAM.
func (s *Server) Admin(ctx context.Context, args ...string) error {
	full := append([]string{"admin", "--access", s.AccessKey, "--secret", s.SecretKey,
		"--endpoint-url", s.Endpoint}, args...)
	out, err := exec.CommandContext(ctx, s.bin, full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("versitygw admin %s: %w: %s", args[0], err, out)
	}
	return nil
}

// repoRoot is the root of the cairn source tree, found from this file's
// path so that tests of any package can locate the build script.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
