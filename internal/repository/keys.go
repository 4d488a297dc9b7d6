package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"filippo.io/age"
	"github.com/restic/chunker"
	"gocloud.dev/blob"
)

// KeyMode says how the repository's master keys are protected.
type KeyMode string

const (
	// ModePassphrase wraps all keys, the reading key included, with a
	// passphrase: whoever knows it can read and write.
	ModePassphrase KeyMode = "passphrase"

	// ModeRecipient keeps the reading key outside the repository: data is
	// encrypted to an age X25519 recipient. The passphrase opens only the
	// writer keys, so a writer can add snapshots it can never read back.
	ModeRecipient KeyMode = "recipient"
)

// writerKeys are what any writer needs: the chunk id key, the metadata key,
// the chunker polynomial and the recipient that data keys are wrapped to.
type writerKeys struct {
	IDKey      []byte      `json:"idKey"`
	MetaKey    []byte      `json:"metaKey"`
	Polynomial chunker.Pol `json:"polynomial"`
	Recipient  string      `json:"recipient"`
}

// passphraseSecrets is what a passphrase unwraps. Identity, the age identity
// that reads data, is present only in passphrase mode.
type passphraseSecrets struct {
	Writer   writerKeys `json:"writer"`
	Identity string     `json:"identity,omitempty"`
}

// keyFile is the plaintext JSON object stored under keys/. Each field holds
// an age file: Passphrase is encrypted with scrypt, Identity to the data
// recipient so that the identity alone also opens the writer keys.
type keyFile struct {
	Version    int       `json:"version"`
	Mode       KeyMode   `json:"mode"`
	Created    time.Time `json:"created"`
	Passphrase []byte    `json:"passphrase,omitempty"`
	Identity   []byte    `json:"identity,omitempty"`
}

// Credentials open a repository. Password opens the writer keys (and, in
// passphrase mode, the reading key); Identities are age identities that read
// a recipient-mode repository, with or without the password.
type Credentials struct {
	Password   string
	Identities []age.Identity
}

// newKeyFile wraps the secrets for storage.
func newKeyFile(mode KeyMode, s passphraseSecrets, password string, workFactor int,
	recipient age.Recipient, now time.Time) (*keyFile, error) {
	kf := &keyFile{Version: formatVersion, Mode: mode, Created: now.UTC()}

	if password != "" {
		sr, err := age.NewScryptRecipient(password)
		if err != nil {
			return nil, fmt.Errorf("scrypt recipient: %w", err)
		}
		if workFactor > 0 {
			sr.SetWorkFactor(workFactor)
		}
		plain, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		if kf.Passphrase, err = ageEncrypt(plain, sr); err != nil {
			return nil, fmt.Errorf("wrap keys with passphrase: %w", err)
		}
	}

	if mode == ModeRecipient {
		plain, err := json.Marshal(passphraseSecrets{Writer: s.Writer})
		if err != nil {
			return nil, err
		}
		if kf.Identity, err = ageEncrypt(plain, recipient); err != nil {
			return nil, fmt.Errorf("wrap keys to recipient: %w", err)
		}
	}
	return kf, nil
}

// unlock tries the credentials on one key file. It returns the writer keys and
// the identities that read data, nil when the credentials only write.
func (kf *keyFile) unlock(c Credentials) (*writerKeys, []age.Identity, error) {
	if c.Password != "" && len(kf.Passphrase) > 0 {
		si, err := age.NewScryptIdentity(c.Password)
		if err != nil {
			return nil, nil, err
		}
		plain, err := ageDecrypt(kf.Passphrase, si)
		if err == nil {
			return kf.secrets(plain, c.Identities)
		}
		if len(c.Identities) == 0 {
			return nil, nil, err
		}
	}
	if len(c.Identities) > 0 && len(kf.Identity) > 0 {
		plain, err := ageDecrypt(kf.Identity, c.Identities...)
		if err != nil {
			return nil, nil, err
		}
		return kf.secrets(plain, c.Identities)
	}
	return nil, nil, ErrWrongKey
}

func (kf *keyFile) secrets(plain []byte, given []age.Identity) (*writerKeys, []age.Identity, error) {
	var s passphraseSecrets
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, nil, fmt.Errorf("%w: key secrets: %w", ErrCorrupt, err)
	}
	if s.Identity != "" {
		id, err := age.ParseX25519Identity(s.Identity)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: data identity: %w", ErrCorrupt, err)
		}
		return &s.Writer, []age.Identity{id}, nil
	}
	return &s.Writer, given, nil
}

// findKey lists the key files and returns the keys of the first that opens.
func findKey(ctx context.Context, b *blob.Bucket, c Credentials) (*writerKeys, []age.Identity, error) {
	names, err := listObjects(ctx, b, dirKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%w: no key files under %s", ErrNotFound, dirKeys)
	}

	var errs []error
	for _, o := range names {
		data, err := b.ReadAll(ctx, o.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", o.Key, err)
		}
		var kf keyFile
		if err := json.Unmarshal(data, &kf); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.Key, err))
			continue
		}
		w, ids, err := kf.unlock(c)
		if err == nil {
			return w, ids, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", o.Key, err))
	}
	return nil, nil, fmt.Errorf("%w: %w", ErrWrongKey, errors.Join(errs...))
}
