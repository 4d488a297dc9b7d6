package repository

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ID names a blob, a pack or a metadata object. Blob ids are keyed BLAKE3-256
// digests of the plaintext, pack ids are plain BLAKE3-256 digests of the pack
// bytes, and the ids of snapshots, indexes, sessions and marks are random.
type ID [32]byte

// String returns the id as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, enough for people to tell ids apart.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether the id is unset.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the id as hex, so JSON carries it as a string.
func (id ID) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(id)))
	hex.Encode(out, id[:])
	return out, nil
}

// UnmarshalText parses 64 hex digits.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseID parses the 64 hex digits that String produces.
func ParseID(s string) (ID, error) {
	var id ID
	if hex.DecodedLen(len(s)) != len(id) {
		return id, fmt.Errorf("id %q: want %d hex digits", s, 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("id %q: %w", s, err)
	}
	return id, nil
}

// randomID returns a fresh random id for objects that are not content-addressed.
func randomID() ID {
	var id ID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported systems
	return id
}
