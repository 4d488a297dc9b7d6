package restore

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/controlplane"
	"github.com/cairn-backup/cairn/test/s3server"
)

// s3Env is a restore test's env whose location is a prefix of a bucket on
// a real S3 server, with direct access to the bucket for checks and damage.
type s3Env struct {
	*env
	srv            *s3server.Server
	bucket, prefix string
	id             *age.X25519Identity
}

// newS3Env starts an S3 server for the test and opens a location on a new
// bucket of it in place of the env's folder.
func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	e := &s3Env{env: newEnv(t), srv: s3server.New(t, s3server.Options{}),
		bucket: "backups", prefix: "cluster-a"}
	e.srv.Bucket(t, e.bucket)
	e.loc = e.openLocation(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e.id = id
	return e
}

// openLocation opens the env's bucket and prefix as a new location, as a
// later cairn process would.
func (e *s3Env) openLocation(t *testing.T) *location.Location {
	t.Helper()
	loc, err := location.OpenWith(t.Context(), e.srv.URL(e.bucket, e.prefix),
		location.Options{CredentialsFile: e.srv.Credentials(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loc.Close() })
	return loc
}

// backupApp creates the example application and a Secret in the test's
// namespace and backs them up, encrypted to the env's identity.
func (e *s3Env) backupApp(t *testing.T, name string) *archive.Manifest {
	t.Helper()
	e.cp.Apply(t, controlplane.ExampleApp(t), e.ns)
	e.apply(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: shop-credentials}\n"+
		"stringData: {k: v}\n")
	keys := crypt.Keys{Recipients: []age.Recipient{e.id.Recipient()}}
	m, err := backup.Run(t.Context(), backup.Request{Name: name, Cluster: e.c,
		Location: e.loc, Keys: keys, Spec: archive.Spec{IncludeNamespaces: []string{e.ns}}})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if m.Archive.Encryption != crypt.Scheme {
		t.Fatalf("backup encryption %q, want %s", m.Archive.Encryption, crypt.Scheme)
	}
	return m
}

// object reads an object of the bucket by its key under the prefix.
func (e *s3Env) object(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.srv.Client().GetObject(t.Context(), &s3.GetObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(path.Join(e.prefix, key))})
	if err != nil {
		t.Fatalf("get %s from the bucket: %v", key, err)
	}
	defer func() { _ = out.Body.Close() }()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// replace writes data over an object of the bucket, behind cairn's back.
func (e *s3Env) replace(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := e.srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String(e.bucket), Key: aws.String(path.Join(e.prefix, key)),
		Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put %s into the bucket: %v", key, err)
	}
}

// TestS3EncryptedRestore backs the example application up to S3, encrypted,
// deletes its namespace and restores it from the bucket with the identity.
func TestS3EncryptedRestore(t *testing.T) {
	e := newS3Env(t)
	m := e.backupApp(t, "shop-s3")
	e.deleteNamespace(t, e.ns)

	req := e.request(m, Spec{})
	req.Keys = crypt.Keys{Identities: []age.Identity{e.id}}
	rec, outs := e.run(t, req)
	requirePhase(t, rec, PhaseCompleted)

	for _, o := range []struct {
		what string
		key  string
	}{
		{"namespace", key("namespaces", "", e.ns)},
		{"claim", key("persistentvolumeclaims", e.ns, "my-pvc")},
		{"deployment", key("deployments", e.ns, "my-deployment")},
		{"secret", key("secrets", e.ns, "shop-credentials")},
	} {
		if got := outs[o.key]; got.Action != ActionCreate {
			t.Errorf("%s %s: outcome %+v, want created", o.what, o.key, got)
		}
	}
	s, err := e.cs.CoreV1().Secrets(e.ns).Get(t.Context(), "shop-credentials",
		metav1.GetOptions{})
	if err != nil {
		t.Fatalf("shop-credentials after the restore: %v", err)
	}
	if string(s.Data["k"]) != "v" {
		t.Errorf("shop-credentials data k = %q after the restore, want v", s.Data["k"])
	}
	e.get(t, pvcs, e.ns, "my-pvc")
	e.get(t, deployments, e.ns, "my-deployment")

	checkStoredRecord(t, e, rec)
}

// checkStoredRecord checks the restore's record in the bucket, read by a
// new location as the next cairn command would, and that its outcomes and
// log are encrypted to the identity there.
func checkStoredRecord(t *testing.T, e *s3Env, rec *Record) {
	t.Helper()
	var raw Record
	if err := json.Unmarshal(e.object(t, RecordKey(rec.Name)), &raw); err != nil {
		t.Fatalf("record in the bucket: %v", err)
	}
	if raw.UID != rec.UID || raw.Phase != PhaseCompleted || raw.Encryption != crypt.Scheme {
		t.Errorf("record in the bucket: uid %s phase %s encryption %q; want %s %s %s",
			raw.UID, raw.Phase, raw.Encryption, rec.UID, PhaseCompleted, crypt.Scheme)
	}

	loc := e.openLocation(t)
	stored, err := Get(t.Context(), loc, rec.Name)
	if err != nil {
		t.Fatalf("read the record back: %v", err)
	}
	for _, tc := range []struct{ name, key string }{
		{"Outcomes", stored.OutcomesKey},
		{"Log", stored.LogKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := e.object(t, tc.key)
			if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) {
				t.Errorf("%s is not an age file: %.40q", tc.key, data)
			}
			for _, plain := range []string{e.ns, "my-deployment", "shop-credentials"} {
				if bytes.Contains(data, []byte(plain)) {
					t.Errorf("%s holds %q in the clear", tc.key, plain)
				}
			}
			if _, err := Open(t.Context(), loc, stored, tc.key, crypt.Keys{}); !errors.Is(err,
				crypt.ErrNoKey) {
				t.Errorf("open %s without a key: %v, want ErrNoKey", tc.key, err)
			}
			rc, err := Open(t.Context(), loc, stored, tc.key,
				crypt.Keys{Identities: []age.Identity{e.id}})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rc.Close() }()
			plain, err := io.ReadAll(rc)
			if err != nil || !strings.Contains(string(plain), e.ns) {
				t.Errorf("%s decrypted: %v, %d bytes without the namespace", tc.key, err,
					len(plain))
			}
		})
	}
}

// TestS3DamagedArchiveRefused flips one byte of an encrypted archive in the
// bucket; the restore must refuse the backup before touching the cluster.
func TestS3DamagedArchiveRefused(t *testing.T) {
	e := newS3Env(t)
	m := e.backupApp(t, "shop-s3")
	e.deleteNamespace(t, e.ns)
	good := e.object(t, m.Archive.Key)
	// An age file: a version line, one stanza per recipient (a line naming
	// the recipient type and its ephemeral share, then the wrapped file key
	// in base64), a MAC line, then a 16-byte nonce and the sealed chunks.
	stanza := bytes.Index(good, []byte("\n-> X25519 "))
	mac := bytes.Index(good, []byte("\n--- "))
	if stanza < 0 || mac < 0 {
		t.Fatalf("archive has no age header with an X25519 stanza: %.120q", good)
	}
	body := stanza + 1 + bytes.IndexByte(good[stanza+1:], '\n') + 1
	payload := mac + 1 + bytes.IndexByte(good[mac+1:], '\n') + 1

	// flip inverts a byte; swap replaces a base64 character by another, as
	// a single flipped bit can, so the header still parses.
	flip := func(at int) func([]byte) { return func(b []byte) { b[at] ^= 0xff } }
	swap := func(at int) func([]byte) {
		return func(b []byte) { b[at] = map[bool]byte{true: 'B', false: 'A'}[b[at] == 'A'] }
	}
	// A damaged stanza that still parses fails to unwrap as a key of
	// another recipient does; the stored archive's SHA-256 tells damage
	// from a wrong key.
	for _, tc := range []struct {
		name   string
		damage func([]byte)
		want   error
	}{
		{"VersionLine", flip(0), ErrBackupUnusable},
		{"WrappedKey", flip(body + 3), ErrBackupUnusable},
		{"WrappedKeyStillBase64", swap(body + 3), ErrBackupUnusable},
		{"ShareStillBase64", swap(stanza + 12), ErrBackupUnusable},
		{"HeaderMAC", flip(mac + 8), ErrBackupUnusable},
		{"HeaderMACStillBase64", swap(mac + 8), ErrBackupUnusable},
		{"Nonce", flip(payload), ErrBackupUnusable},
		{"FirstChunk", flip(payload + 16 + 10), ErrBackupUnusable},
		{"Middle", flip(len(good) / 2), ErrBackupUnusable},
		{"LastByte", flip(len(good) - 1), ErrBackupUnusable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Clone(good)
			tc.damage(data)
			if bytes.Equal(data, good) {
				t.Fatal("the damage changed nothing")
			}
			e.replace(t, m.Archive.Key, data)

			req := e.request(m, Spec{})
			req.Keys = crypt.Keys{Identities: []age.Identity{e.id}}
			_, err := Run(t.Context(), req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("restore of a damaged archive: %v, want %v", err, tc.want)
			}
			if e.exists(namespacesR, "", e.ns) {
				t.Fatal("the refused restore touched the cluster")
			}
			if _, err := Get(t.Context(), e.loc, req.Name); !errors.Is(err, ErrNotFound) {
				t.Errorf("record of the refused restore: %v, want ErrNotFound", err)
			}
		})
	}
}
