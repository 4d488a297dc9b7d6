package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/cairn-backup/cairn/internal/archive"
	"github.com/cairn-backup/cairn/internal/crypt"
)

const secretYAML = `
apiVersion: v1
kind: Secret
metadata: {name: db-password}
stringData: {password: s3cr3t-value-in-plaintext}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
`

// storedPath is the file behind an archive in a folder location.
func (e *env) storedPath(m *archive.Manifest) string {
	return filepath.Join(strings.TrimPrefix(e.loc.URL, "file://"), m.Archive.Key)
}

func (e *env) verify(t *testing.T, m *archive.Manifest, keys crypt.Keys) *VerifyReport {
	t.Helper()
	rep, err := Verify(context.Background(), e.loc, m, keys)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVerifyFindsDamage(t *testing.T) {
	e := newEnv(t)
	e.apply(t, secretYAML)
	spec := archive.Spec{IncludeNamespaces: []string{e.ns}}
	m, _ := e.backup(t, "intact", spec)
	if rep := e.verify(t, m, crypt.Keys{}); !rep.OK {
		t.Fatalf("intact backup: %v", rep.Problems)
	}
	if len(m.Warnings) == 0 || !strings.Contains(m.Warnings[0].Reason, "stored unencrypted") {
		t.Fatalf("no plaintext-Secrets warning: %+v", m.Warnings)
	}
	original, err := os.ReadFile(e.storedPath(m))
	if err != nil {
		t.Fatal(err)
	}

	damage := map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)/2] ^= 0x40
			return b
		},
		"truncated": func(b []byte) []byte { return b[:len(b)-100] },
		"swapped objects": func(b []byte) []byte {
			return swapObjects(t, b, "db-password", "settings")
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(e.storedPath(m), f(original), 0o644); err != nil {
				t.Fatal(err)
			}
			rep := e.verify(t, m, crypt.Keys{})
			if rep.OK {
				t.Fatal("damage not found")
			}
			t.Logf("found: %s", strings.Join(rep.Problems, "; "))
		})
	}
}

// swapObjects exchanges the contents of two objects in a plain archive and
// compresses it again, index untouched.
func swapObjects(t *testing.T, stored []byte, a, b string) []byte {
	t.Helper()
	dec, err := zstd.NewReader(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	tarData, err := io.ReadAll(dec)
	dec.Close()
	if err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, tarData)
	var ia, ib = -1, -1
	for i, en := range entries {
		switch {
		case strings.HasSuffix(en.name, "/"+a+".json"):
			ia = i
		case strings.HasSuffix(en.name, "/"+b+".json"):
			ib = i
		}
	}
	if ia < 0 || ib < 0 {
		t.Fatalf("objects %s and %s not in archive", a, b)
	}
	entries[ia].data, entries[ib].data = entries[ib].data, entries[ia].data
	var out bytes.Buffer
	enc, _ := zstd.NewWriter(&out)
	if _, err := enc.Write(writeTar(t, entries)); err != nil {
		t.Fatal(err)
	}
	_ = enc.Close()
	return out.Bytes()
}

func TestEncryptedBackup(t *testing.T) {
	e := newEnv(t)
	e.apply(t, secretYAML)
	identity, recipient, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(identity), 0o600); err != nil {
		t.Fatal(err)
	}
	writer, _ := crypt.Sources{Recipients: []string{recipient}}.Load()
	reader, _ := crypt.Sources{IdentityFiles: []string{keyFile}}.Load()

	req := e.request("sealed", archive.Spec{IncludeNamespaces: []string{e.ns}})
	req.Keys = writer
	m, err := Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Archive.Encryption != crypt.Scheme || len(m.Warnings) != 0 {
		t.Fatalf("encryption %q, warnings %v", m.Archive.Encryption, m.Warnings)
	}
	stored, err := os.ReadFile(e.storedPath(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"s3cr3t", "db-password", "czNjcjN0"} {
		if bytes.Contains(stored, []byte(plain)) {
			t.Fatalf("stored archive contains %q in the clear", plain)
		}
	}

	// The writer's public key cannot read the backup; the private key can.
	if _, err := Objects(context.Background(), e.loc, m, writer); !errors.Is(err, crypt.ErrNoKey) {
		t.Fatalf("read with the public key only: %v, want ErrNoKey", err)
	}
	otherID, _, _ := crypt.Generate()
	otherFile := filepath.Join(t.TempDir(), "other")
	_ = os.WriteFile(otherFile, []byte(otherID), 0o600)
	wrong, _ := crypt.Sources{IdentityFiles: []string{otherFile}}.Load()
	if _, err := Verify(context.Background(), e.loc, m, wrong); !errors.Is(err, crypt.ErrWrongKey) {
		t.Fatalf("verify with a wrong key: %v, want ErrWrongKey", err)
	}
	entries, err := Objects(context.Background(), e.loc, m, reader)
	if err != nil || len(entries) != m.Totals.Objects {
		t.Fatalf("read with the key: %d objects, %v", len(entries), err)
	}
	if rep := e.verify(t, m, reader); !rep.OK {
		t.Fatalf("encrypted backup: %v", rep.Problems)
	}

	b := bytes.Clone(stored)
	b[len(b)-20] ^= 1
	if err := os.WriteFile(e.storedPath(m), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if rep := e.verify(t, m, reader); rep.OK {
		t.Fatal("a flipped byte in an encrypted archive went unnoticed")
	}
}
