package location

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// rotationGrace is how long after a change of the credentials file an
// authentication error is taken for a request signed with the old keys,
// and retried.
const rotationGrace = 5 * time.Minute

// fileCredentials reads S3 keys from a file in the AWS shared credentials
// format, and reads it again whenever it changes, so that keys rotated
// during a long backup are used from the next request on.
type fileCredentials struct {
	path    string
	profile string

	mu      sync.Mutex
	stamp   fileStamp
	creds   aws.Credentials
	rotated time.Time // when the access key last changed
}

// fileStamp tells a changed file: rewritten in place or replaced.
type fileStamp struct {
	ino   uint64
	size  int64
	mtime time.Time
}

func newFileCredentials(path, profile string) *fileCredentials {
	if profile == "" {
		profile = "default"
	}
	return &fileCredentials{path: path, profile: profile}
}

// Retrieve returns the keys in the file now.
func (f *fileCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refresh(); err != nil {
		return aws.Credentials{}, err
	}
	return f.creds, nil
}

// recentlyRotated reports whether the access key changed a short while ago.
func (f *fileCredentials) recentlyRotated() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.refresh()
	return !f.rotated.IsZero() && time.Since(f.rotated) < rotationGrace
}

// refresh reads the file again if it changed. A file that cannot be read
// while it is being replaced leaves the keys read before in use.
func (f *fileCredentials) refresh() error {
	st, err := os.Stat(f.path)
	if err != nil {
		if f.creds.HasKeys() {
			return nil
		}
		return fmt.Errorf("credentials file: %w", err)
	}
	stamp := fileStamp{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		stamp.ino = sys.Ino
	}
	if stamp == f.stamp && f.creds.HasKeys() {
		return nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	c, err := parseCredentials(data, f.profile)
	if err != nil {
		if f.creds.HasKeys() {
			return nil
		}
		return fmt.Errorf("credentials file %s: %w", f.path, err)
	}
	if f.creds.HasKeys() && c.AccessKeyID != f.creds.AccessKeyID {
		f.rotated = time.Now()
	}
	f.creds = c
	f.stamp = stamp
	return nil
}

// parseCredentials reads one profile of an AWS shared credentials file:
// sections in brackets holding aws_access_key_id, aws_secret_access_key and
// optionally aws_session_token. Errors never quote the file's values.
func parseCredentials(data []byte, profile string) (aws.Credentials, error) {
	var c aws.Credentials
	found := false
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(strings.TrimPrefix(line[1:len(line)-1], "profile "))
			found = found || section == profile
			continue
		}
		if section != profile {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "aws_access_key_id":
			c.AccessKeyID = v
		case "aws_secret_access_key":
			c.SecretAccessKey = v
		case "aws_session_token":
			c.SessionToken = v
		}
	}
	switch {
	case !found:
		return c, fmt.Errorf("no profile [%s]", profile)
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return c, fmt.Errorf("profile [%s] needs aws_access_key_id and aws_secret_access_key",
			profile)
	}
	c.Source = "cairn credentials file"
	return c, nil
}
