package location_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/location/locationtest"
	"github.com/cairn-backup/cairn/test/s3server"
)

// accessEntry is one line of the S3 server's access log.
type accessEntry struct {
	requester, op, uri, status string
}

// accessLog parses the server's access log: the requester, operation,
// request URI and status fields of each request.
func accessLog(t *testing.T, srv *s3server.Server) []accessEntry {
	t.Helper()
	lines, err := srv.AccessLog()
	if err != nil {
		t.Fatal(err)
	}
	var out []accessEntry
	for _, line := range lines {
		// The time field holds a space: "[03/December/2026:22:19:30 +0000]".
		_, rest, ok := strings.Cut(line, "] ")
		f := strings.Fields(rest)
		if !ok || len(f) < 7 {
			continue
		}
		out = append(out, accessEntry{requester: f[1], op: f[3], uri: f[5], status: f[6]})
	}
	return out
}

// TestCase_BD01: writes and lists use one resolved prefix, and a prefix
// misplaced into an option is rejected, not ignored.
func TestCase_BD01(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	ctx := t.Context()
	a := openS3(t, srv, "bkt", "cairn-backups/")
	if err := a.PutIfAbsent(ctx, "backups/b1/manifest.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	dirs, err := a.List(ctx, "backups/", "/")
	if err != nil || !slices.Equal(dirs, []string{"backups/b1/"}) {
		t.Fatalf("List = %v, %v; want the backup just written", dirs, err)
	}
	_, err = srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"),
		Key: aws.String("cairn-backups/backups/b1/manifest.json")})
	if err != nil {
		t.Fatalf("object not under the resolved prefix: %v", err)
	}
	lists := 0
	for _, e := range accessLog(t, srv) {
		if e.op != "s3_ListObjectsV2" {
			continue
		}
		lists++
		u, err := url.Parse(e.uri)
		if err != nil || !strings.HasPrefix(u.Query().Get("prefix"), "cairn-backups/") {
			t.Errorf("ListObjectsV2 %s does not carry the resolved prefix", e.uri)
		}
	}
	if lists == 0 {
		t.Fatal("no ListObjectsV2 in the access log")
	}

	for _, tc := range []struct{ url, want string }{
		{srv.URL("bkt", "") + "&prefix=team/x", "URL path"},
		{srv.URL("bkt", "") + "&bucket_prefix=team/x", `unknown option "bucket_prefix"`},
		{"s3://bkt:9000/cairn-backups/?region=r", "bucket"},
	} {
		_, err := location.Open(ctx, tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error naming %q", tc.url, err, tc.want)
		}
	}
}

// TestCase_BD02: foreign folders and the delete markers of a deleted
// backup neither break nor flood a location.
func TestCase_BD02(t *testing.T) {
	srv := s3server.New(t, s3server.Options{Versioning: true})
	ctx := t.Context()
	loc := openS3(t, srv, "bkt", "c1")
	root := srv.Client()
	for key, body := range map[string]string{
		"other-app/readme.txt":                  "twelve bytes",
		"c1/backups/not-a-backup/test.txt":      "five!",
		"c1/backups/b1/manifest.json":           "{}",
		"c1/backups/b1/archive-u1.tar.zst":      "archive",
		"c1/backups/b1/log-u1.jsonl":            "{}\n",
		"c1/restores/not-a-restore/garbage.bin": "x",
	} {
		_, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"),
			Key: aws.String(key), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := root.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket: aws.String("bkt"),
		VersioningConfiguration: &types.VersioningConfiguration{
			Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"manifest.json", "archive-u1.tar.zst", "log-u1.jsonl"} {
		if err := loc.Delete(ctx, "backups/b1/"+key); err != nil {
			t.Fatal(err)
		}
	}

	setup := len(accessLog(t, srv))

	// Only delete markers and old versions of b1 remain. The posix store
	// still lists its emptied folder as a prefix, as some stores do, so
	// the backup list must not take a folder for a backup.
	for range 3 {
		keys, err := loc.List(ctx, "backups/b1/", "")
		if err != nil || len(keys) != 0 {
			t.Fatalf("List(backups/b1/) = %v, %v; want nothing", keys, err)
		}
		list, err := backup.List(ctx, loc)
		if err != nil || len(list) != 0 {
			t.Fatalf("backup.List = %d backups, %v; want none and no error", len(list), err)
		}
	}
	for _, e := range accessLog(t, srv)[setup:] {
		if strings.Contains(e.uri, "other-app") {
			t.Errorf("the location touched a foreign folder: %s %s", e.op, e.uri)
		}
	}
}

// TestCase_BD05: keys rotated in the credentials file during a long
// upload; the upload completes and later requests use the new keys. In the
// second run a part signed with the old key reaches the store after that
// key was deleted, and is denied once.
func TestCase_BD05(t *testing.T) {
	srv := s3server.New(t, s3server.Options{IAM: true})
	srv.Bucket(t, "bkt")
	for i, lateDenial := range []bool{false, true} {
		name := map[bool]string{false: "Rotation", true: "DeniedPartIsRetried"}[lateDenial]
		t.Run(name, func(t *testing.T) {
			k1, k2 := fmt.Sprintf("key-%d-old", i), fmt.Sprintf("key-%d-new", i)
			proxy := locationtest.NewFaultProxy(t, srv.Endpoint)
			testRotation(t, srv, proxy, k1, k2, lateDenial)
		})
	}
}

func testRotation(t *testing.T, srv *s3server.Server, proxy *locationtest.FaultProxy,
	k1, k2 string, lateDenial bool) {
	ctx := t.Context()
	if err := srv.Admin(ctx, "create-user", "--access", k1, "--secret", "secret-1",
		"--role", "admin"); err != nil {
		t.Fatal(err)
	}
	creds := t.TempDir() + "/credentials"
	if err := s3server.WriteCredentials(creds, k1, "secret-1"); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(srv.URL("bkt", k1), srv.Endpoint, proxy.URL, 1)
	loc, err := location.OpenWith(ctx, url, location.Options{CredentialsFile: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = loc.Close() }()

	w, err := loc.NewWriter(ctx, "backups/long/archive.tar.zst")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{5}, 1<<20)
	denial := &locationtest.Fault{Match: locationtest.Op("UploadPart"), Times: 1,
		Status: http.StatusForbidden}
	for i := range 48 {
		if i == 16 {
			rotate(ctx, t, srv, creds, k1, k2)
			if lateDenial {
				proxy.Inject(denial)
			}
		}
		if _, err := w.Write(chunk); err != nil {
			t.Fatalf("write after %d MiB: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload across a key rotation: %v", err)
	}
	if lateDenial && proxy.Hits(denial) != 1 {
		t.Fatal("no part was denied")
	}
	if err := loc.Put(ctx, "backups/next/manifest.json", []byte("{}")); err != nil {
		t.Fatalf("write after the rotation: %v", err)
	}

	seenK2 := false
	for _, e := range accessLog(t, srv) {
		switch {
		case e.requester == k2:
			seenK2 = true
		case e.requester == k1 && seenK2 && (e.status == "200" || e.status == "204"):
			t.Errorf("%s succeeded with the deleted key after the rotation", e.op)
		}
	}
	if !seenK2 {
		t.Fatal("no request used the new key")
	}
}

// rotate creates the new key, writes it to the credentials file and
// deletes the old one, as an operator rotating keys does.
func rotate(ctx context.Context, t *testing.T, srv *s3server.Server, creds, oldKey, newKey string) {
	t.Helper()
	if err := srv.Admin(ctx, "create-user", "--access", newKey, "--secret", "secret-2",
		"--role", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s3server.WriteCredentials(creds, newKey, "secret-2"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Admin(ctx, "delete-user", "--access", oldKey); err != nil {
		t.Fatal(err)
	}
}
