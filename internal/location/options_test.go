package location_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/s3server"
)

func TestURLs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, raw string
		wantURL   string // empty: want an error
		wantErr   string // part of the error
	}{
		{"PlainPath", dir, "file://" + dir, ""},
		{"FileURL", "file://" + dir + "/", "file://" + dir, ""},
		{"RelativeFile", "file://relative/path", "", "absolute path"},
		{"FileWithOptions", "file://" + dir + "?create_dir=0", "", "no options"},
		{"UnknownScheme", "nosuch://bucket", "", "unknown scheme"},
		{"NoBucket", "s3:///prefix", "", "bucket is missing"},
		{"BadBucket", "s3://bad%20bucket/x", "", ""},
		{"ShortBucket", "s3://ab", "", "3 to 255"},
		{"EmptySegment", "s3://bkt/a//b", "", "segments"},
		{"DotSegment", "s3://bkt/a/../b", "", "segments"},
		{"PrefixOption", "s3://bkt?prefix=team/x", "", "URL path"},
		{"UnknownOption", "s3://bkt?endpiont=http://x", "", `unknown option "endpiont"`},
		{"RepeatedOption", "s3://bkt?region=a&region=b", "", "2 times"},
		{"BadBool", "s3://bkt?use_path_style=maybe&region=r", "", "use_path_style"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := location.Open(t.Context(), tc.raw)
			if tc.wantURL == "" {
				if err == nil {
					_ = l.Close()
					t.Fatalf("Open(%q) succeeded, want an error", tc.raw)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%q) error = %q, want it to mention %q", tc.raw, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			if l.URL != tc.wantURL {
				t.Fatalf("URL = %q, want %q", l.URL, tc.wantURL)
			}
		})
	}
}

func TestS3URLHidesOptions(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	l := openS3(t, srv, "shown", "/team/x/")
	if l.URL != "s3://shown/team/x" {
		t.Fatalf("URL = %q, want s3://shown/team/x", l.URL)
	}
}

func TestReadOnly(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "ro-bucket")
	creds := srv.Credentials(t)
	for _, tc := range []struct{ name, url string }{
		{"File", "file://" + t.TempDir()},
		{"S3", srv.URL("ro-bucket", "p")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			rw, err := location.OpenWith(ctx, tc.url, location.Options{CredentialsFile: creds})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rw.Close() }()
			if err := rw.Put(ctx, "kept", []byte("v")); err != nil {
				t.Fatal(err)
			}
			ro, err := location.OpenWith(ctx, tc.url,
				location.Options{CredentialsFile: creds, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = ro.Close() }()

			if got, err := ro.Get(ctx, "kept"); err != nil || string(got) != "v" {
				t.Fatalf("read from a read-only location = %q, %v", got, err)
			}
			_, werr := ro.NewWriter(ctx, "new")
			for name, err := range map[string]error{
				"Put":         ro.Put(ctx, "new", []byte("x")),
				"PutIfAbsent": ro.PutIfAbsent(ctx, "new", []byte("x")),
				"Delete":      ro.Delete(ctx, "kept"),
				"NewWriter":   werr,
				"Probe":       ro.Probe(ctx, "probe"),
			} {
				if !errors.Is(err, location.ErrReadOnly) {
					t.Errorf("%s on a read-only location = %v, want ErrReadOnly", name, err)
				}
			}
			if ok, _ := rw.Exists(ctx, "kept"); !ok {
				t.Fatal("a read-only location deleted an object")
			}
		})
	}
}

func TestCredentialsFile(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "creds")
	dir := t.TempDir()
	write := func(name, content string) string {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	good := "# keys\n[other]\naws_access_key_id = nope\naws_secret_access_key = nope\n" +
		"[backup]\naws_access_key_id = " + srv.AccessKey + "\n" +
		"aws_secret_access_key = " + srv.SecretKey + "\n"
	for _, tc := range []struct {
		name, file, query string
		wantErr           string
	}{
		{"NamedProfile", write("good", good), "&profile=backup", ""},
		{"WrongKeys", write("good", good), "&profile=other", "not writable"},
		{"MissingProfile", write("good", good), "", "no profile [default]"},
		{"NoSecret", write("nosecret", "[default]\naws_access_key_id = x\n"), "", "needs"},
		{"MissingFile", filepath.Join(dir, "none"), "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := location.OpenWith(t.Context(), srv.URL("creds", "")+tc.query,
				location.Options{CredentialsFile: tc.file})
			if err == nil {
				defer func() { _ = l.Close() }()
				err = l.Probe(t.Context(), "probe")
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "nope"):
				t.Fatalf("error %q quotes the credentials file", err)
			}
		})
	}
}

// TestGCSWithoutCredentials checks that a gs:// location with no
// credentials at all fails with what to do, and prints nothing on stdout,
// where commands write their JSON.
func TestGCSWithoutCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no gcloud configuration
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	l, err := location.Open(t.Context(), "gs://cairn-backups/team")
	os.Stdout = stdout
	_ = w.Close()
	printed, _ := io.ReadAll(r)
	if err == nil {
		_ = l.Close()
		t.Fatal("opened a gs:// location without credentials")
	}
	if !strings.Contains(err.Error(), "no Google Cloud credentials") {
		t.Errorf("error %q, want it to say there are no credentials", err)
	}
	if len(printed) > 0 {
		t.Errorf("printed on stdout: %q", printed)
	}
}
