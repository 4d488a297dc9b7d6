package crypt

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func roundTrip(t *testing.T, enc, dec Keys, plain []byte) ([]byte, error) {
	t.Helper()
	var stored bytes.Buffer
	w, err := enc.Encrypt(&stored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Bytes(), plain[:64]) {
		t.Fatal("plaintext visible in the encrypted stream")
	}
	r, err := dec.Decrypt(&stored)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRecipientRoundTrip(t *testing.T) {
	dir := t.TempDir()
	idText, pub, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(idFile, []byte(idText), 0o600); err != nil {
		t.Fatal(err)
	}
	writer, err := Sources{Recipients: []string{pub}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := Sources{IdentityFiles: []string{idFile}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("secret object "), 10000)
	got, err := roundTrip(t, writer, reader, plain)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}

	// The writer holds only the public key: it cannot read what it wrote.
	if _, err := roundTrip(t, writer, writer, plain); !errors.Is(err, ErrNoKey) {
		t.Fatalf("decrypt with the public key only: %v, want ErrNoKey", err)
	}
	_, otherPub, _ := Generate()
	other, _ := Sources{Recipients: []string{otherPub}}.Load()
	if _, err := roundTrip(t, other, reader, plain); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("decrypt with the wrong key: %v, want ErrWrongKey", err)
	}
}

func TestPassphrase(t *testing.T) {
	k, err := Sources{Passphrase: "correct horse"}.Load()
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("x"), 4096)
	if got, err := roundTrip(t, k, k, plain); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v", err)
	}
	wrong, _ := Sources{Passphrase: "wrong"}.Load()
	if _, err := roundTrip(t, k, wrong, plain); err == nil {
		t.Fatal("wrong passphrase opened the data")
	}
	_, pub, _ := Generate()
	if _, err := (Sources{Passphrase: "p", Recipients: []string{pub}}).Load(); err == nil {
		t.Fatal("passphrase mixed with recipients accepted")
	}
}

func TestBadKeys(t *testing.T) {
	if _, err := (Sources{Recipients: []string{"age1notakey"}}).Load(); err == nil {
		t.Error("malformed recipient accepted")
	}
	if _, err := (Sources{IdentityFiles: []string{"/nonexistent/key"}}).Load(); err == nil {
		t.Error("missing identity file accepted")
	}
}

func TestTamperedDataFails(t *testing.T) {
	k, _ := Sources{Passphrase: "p"}.Load()
	var stored bytes.Buffer
	w, _ := k.Encrypt(&stored)
	_, _ = w.Write(bytes.Repeat([]byte("y"), 200000))
	_ = w.Close()
	b := stored.Bytes()
	b[len(b)/2] ^= 1
	r, err := k.Decrypt(bytes.NewReader(b))
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if err == nil {
		t.Fatal("a flipped byte went unnoticed")
	}
}
