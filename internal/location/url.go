package location

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// target is a parsed location URL: which store, which bucket, and the one
// key prefix that every operation goes through.
type target struct {
	scheme  string
	bucket  string     // bucket or container; empty for folders
	prefix  string     // "" or a key prefix ending in "/"
	dir     string     // the folder of a file:// location
	query   url.Values // options for the store's driver
	display string     // the URL without its query
}

// s3Options are the query options of s3:// URLs; the location passes them
// to the AWS SDK.
var s3Options = []string{
	"endpoint", "region", "use_path_style", "disable_https", "profile",
	"anonymous", "dualstack", "fips", "accelerate", "ssetype", "kmskeyid",
	"request_checksum_calculation", "response_checksum_validation", "role",
	"role_session_name", "role_external_id", "role_duration",
	"web_identity_token_file",
}

// parse checks a location URL. A plain path is a folder.
func parse(raw string) (*target, error) {
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("location %q: %w", raw, err)
		}
		return &target{scheme: "file", dir: abs, query: url.Values{},
			display: "file://" + abs}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("location %q: %w", raw, err)
	}
	q := u.Query()
	switch u.Scheme {
	case "file":
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("location %q: a file location needs an absolute path, "+
				"as in file:///var/backups", raw)
		}
		if len(q) > 0 {
			return nil, fmt.Errorf("location %q: a file location takes no options", raw)
		}
		dir := filepath.Clean(u.Path)
		return &target{scheme: "file", dir: dir, query: q, display: "file://" + dir}, nil
	case "s3":
		if err := knownOptions(q, s3Options); err != nil {
			return nil, fmt.Errorf("location %q: %w", raw, err)
		}
	case "gs", "azblob":
		// Their drivers reject options they do not know.
	default:
		return nil, fmt.Errorf("location %q: unknown scheme %q: use a folder, file://, "+
			"s3://, gs:// or azblob://", raw, u.Scheme)
	}
	return parseBucket(raw, u, q)
}

func parseBucket(raw string, u *url.URL, q url.Values) (*target, error) {
	if err := checkBucket(u.Host); err != nil {
		return nil, fmt.Errorf("location %q: %w", raw, err)
	}
	prefix, err := keyPrefix(u.Path)
	if err != nil {
		return nil, fmt.Errorf("location %q: %w", raw, err)
	}
	display := u.Scheme + "://" + u.Host
	if prefix != "" {
		display += "/" + strings.TrimSuffix(prefix, "/")
	}
	return &target{scheme: u.Scheme, bucket: u.Host, prefix: prefix, query: q,
		display: display}, nil
}

// checkBucket accepts the names that S3, Cloud Storage and Azure allow,
// leniently: the stores themselves check the finer rules.
func checkBucket(name string) error {
	if name == "" {
		return fmt.Errorf("the bucket is missing: write it as the host, as in s3://bucket/prefix")
	}
	if len(name) < 3 || len(name) > 255 {
		return fmt.Errorf("bucket %q: a bucket name has 3 to 255 characters", name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("bucket %q: a bucket name has only letters, digits, "+
				"dots, hyphens and underscores", name)
		}
	}
	return nil
}

// keyPrefix turns a URL path into the key prefix of a bucket location.
func keyPrefix(path string) (string, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("prefix %q: empty, . and .. segments are not allowed", path)
		}
	}
	return path + "/", nil
}

// knownOptions rejects query options the location does not pass on, so a
// mistyped or misplaced option fails instead of being ignored.
func knownOptions(q url.Values, known []string) error {
	for k, v := range q {
		if k == "prefix" {
			return fmt.Errorf("unknown option \"prefix\": the key prefix is the URL " +
				"path, as in s3://bucket/prefix")
		}
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown option %q; the options are %s", k,
				strings.Join(known, ", "))
		}
		if len(v) != 1 {
			return fmt.Errorf("option %q is given %d times", k, len(v))
		}
	}
	return nil
}

// Validate checks a location URL without opening it, and returns the form
// to keep in a configuration: a plain path becomes an absolute file:// URL,
// bucket URLs keep their options.
func Validate(raw string) (string, error) {
	t, err := parse(raw)
	if err != nil {
		return "", err
	}
	if t.scheme == "file" {
		return t.display, nil
	}
	return raw, nil
}

// Display returns a location URL as messages show it: without its options.
func Display(raw string) string {
	t, err := parse(raw)
	if err != nil {
		return raw
	}
	return t.display
}
