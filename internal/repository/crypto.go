package repository

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"

	"filippo.io/age"
)

const (
	keySize   = 32
	nonceSize = 12
	tagSize   = 16
	// sealOverhead is what sealing adds to a plaintext: nonce and tag.
	sealOverhead = nonceSize + tagSize
)

// newAEAD returns AES-256-GCM for a 32-byte key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal appends nonce, ciphertext and tag of plaintext to dst. The additional
// data binds the ciphertext to its role, so one sealed object cannot be
// passed off as another.
func seal(aead cipher.AEAD, dst, plaintext, ad []byte) []byte {
	var nonce [nonceSize]byte
	_, _ = rand.Read(nonce[:])
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, ad)
}

// open authenticates and decrypts what seal produced, appending to dst.
func open(aead cipher.AEAD, dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < sealOverhead {
		return nil, fmt.Errorf("%w: sealed data of %d bytes is too short", ErrCorrupt, len(sealed))
	}
	out, err := aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication: %w", ErrCorrupt, err)
	}
	return out, nil
}

// newKey returns 32 random bytes.
func newKey() []byte {
	k := make([]byte, keySize)
	_, _ = rand.Read(k)
	return k
}

// ageEncrypt encrypts plaintext to the given age recipients.
func ageEncrypt(plaintext []byte, recipients ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ageDecrypt reverses ageEncrypt.
func ageDecrypt(ciphertext []byte, identities ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}
