// Package crypt encrypts backup archives and restore records with age
// (filippo.io/age): to X25519 recipients, whose public keys are all a
// machine needs to write backups it cannot read, or to a passphrase
// (scrypt). Keys are age's own text formats, so the age command line tool
// can decrypt a downloaded archive as well.
package crypt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// Scheme is the name recorded in a manifest for archives this package
// encrypts.
const Scheme = "age"

// PassphraseEnv is the environment variable a passphrase is read from.
const PassphraseEnv = "CAIRN_PASSPHRASE"

// ErrNoKey is returned when encrypted data is read without any identity.
var ErrNoKey = errors.New("the backup is encrypted and no key was given " +
	"(--identity-file, or the passphrase in $" + PassphraseEnv + ")")

// ErrWrongKey is returned when no given identity opens the data.
var ErrWrongKey = errors.New("none of the given keys opens the backup")

// Keys are the keys of one command: recipients to encrypt to and
// identities to decrypt with. Either may be empty.
type Keys struct {
	Recipients []age.Recipient
	Identities []age.Identity
}

// Encrypting reports whether data written with these keys is encrypted.
func (k Keys) Encrypting() bool { return len(k.Recipients) > 0 }

// Sources name where keys come from, as users give them on the command
// line.
type Sources struct {
	// Recipients are public keys ("age1...").
	Recipients []string
	// RecipientFiles hold public keys, one per line.
	RecipientFiles []string
	// IdentityFiles hold private keys, as written by `cairn key generate`.
	IdentityFiles []string
	// Passphrase, when not empty, encrypts and decrypts with scrypt.
	Passphrase string
}

// Load parses the keys the sources name. A passphrase cannot be combined
// with recipients, since age refuses to mix scrypt with other recipients.
func (s Sources) Load() (Keys, error) {
	var k Keys
	for _, r := range s.Recipients {
		rs, err := age.ParseRecipients(strings.NewReader(r))
		if err != nil {
			return Keys{}, fmt.Errorf("recipient %q: %w", r, err)
		}
		k.Recipients = append(k.Recipients, rs...)
	}
	for _, f := range s.RecipientFiles {
		rs, err := parseFile(f, age.ParseRecipients)
		if err != nil {
			return Keys{}, err
		}
		k.Recipients = append(k.Recipients, rs...)
	}
	for _, f := range s.IdentityFiles {
		ids, err := parseFile(f, age.ParseIdentities)
		if err != nil {
			return Keys{}, err
		}
		k.Identities = append(k.Identities, ids...)
	}
	if s.Passphrase != "" {
		if len(k.Recipients) > 0 {
			return Keys{}, errors.New("a passphrase cannot be combined with recipients")
		}
		r, err := age.NewScryptRecipient(s.Passphrase)
		if err != nil {
			return Keys{}, err
		}
		id, err := age.NewScryptIdentity(s.Passphrase)
		if err != nil {
			return Keys{}, err
		}
		k.Recipients = append(k.Recipients, r)
		k.Identities = append(k.Identities, id)
	}
	return k, nil
}

func parseFile[T any](path string, parse func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer func() { _ = f.Close() }()
	out, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return out, nil
}

// Encrypt returns a writer that encrypts to the recipients into w. Close
// it to write the last chunk; it does not close w.
func (k Keys) Encrypt(w io.Writer) (io.WriteCloser, error) {
	wc, err := age.Encrypt(w, k.Recipients...)
	if err != nil {
		return nil, fmt.Errorf("start encryption: %w", err)
	}
	return wc, nil
}

// Decrypt returns a reader of the plaintext of r. Data that was tampered
// with fails on read.
func (k Keys) Decrypt(r io.Reader) (io.Reader, error) {
	if len(k.Identities) == 0 {
		return nil, ErrNoKey
	}
	out, err := age.Decrypt(r, k.Identities...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return out, nil
}

// Generate makes a new X25519 key pair and returns the private key file's
// text and the public key.
func Generate() (identity, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	text := fmt.Sprintf("# cairn backup key\n# public key: %s\n%s\n", id.Recipient(), id)
	return text, id.Recipient().String(), nil
}
