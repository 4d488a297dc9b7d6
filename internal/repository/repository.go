package repository

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/restic/chunker"
	"github.com/zeebo/blake3"
	"gocloud.dev/blob"

	"github.com/cairn-backup/cairn/internal/location"
	"gocloud.dev/gcerrors"
)

const formatVersion = 1

// Object name prefixes inside the repository.
const (
	objConfig    = "config"
	dirKeys      = "keys/"
	dirData      = "data/"
	dirIndex     = "index/"
	dirSnapshots = "snapshots/"
	dirSessions  = "sessions/"
	dirMarks     = "deletes/"
	objPruneLock = "locks/prune"
)

// Defaults for InitOptions.
const (
	DefaultMinChunk    = 512 << 10
	DefaultMaxChunk    = 8 << 20
	DefaultAverageBits = 19
	DefaultPackSize    = 16 << 20
	DefaultWorkFactor  = 17
)

// ChunkerParams tune content-defined chunking. A chunk ends where the rolling
// hash has AverageBits low zero bits, but never before MinSize bytes nor after
// MaxSize; the mean chunk is about MinSize + 2^AverageBits bytes.
type ChunkerParams struct {
	MinSize     uint `json:"minSize"`
	MaxSize     uint `json:"maxSize"`
	AverageBits int  `json:"averageBits"`
}

// Config is the repository's settings, stored sealed with the metadata key.
type Config struct {
	Version  int           `json:"version"`
	ID       ID            `json:"id"`
	Mode     KeyMode       `json:"mode"`
	Created  time.Time     `json:"created"`
	Chunker  ChunkerParams `json:"chunker"`
	PackSize int           `json:"packSize"`
}

// InitOptions create a repository. Password is required. With Recipient set
// (an age X25519 recipient, "age1..."), the repository is in recipient mode.
type InitOptions struct {
	Password  string
	Recipient string
	Chunker   ChunkerParams
	PackSize  int
	// WorkFactor is scrypt's log2(N); 17 takes about half a second and
	// 128 MiB. Tests lower it.
	WorkFactor int
	Clock      func() time.Time
}

// Repository is an open repository. It is safe for concurrent use.
type Repository struct {
	bucket   *blob.Bucket
	cfg      Config
	keys     writerKeys
	meta     cipher.AEAD
	dataTo   age.Recipient
	readers  []age.Identity
	keyCache packKeys
	clock    func() time.Time
	hooks    hooks
	// loc, when set, is the location the bucket belongs to; its
	// PutIfAbsent holds across processes on a folder, where the bucket's
	// own conditional write holds only within one.
	loc *location.Location
}

// UseLocation tells the repository which location its bucket belongs to, so
// that the prune lock excludes prunes of other processes on a folder too.
func (r *Repository) UseLocation(l *location.Location) { r.loc = l }

// hooks let tests stop a backup at chosen points; all are nil otherwise.
type hooks struct {
	packStored     func()
	beforeSnapshot func()
	// restorePlanned gets the packs a restore is about to read.
	restorePlanned func(packs []ID)
}

// Init creates a repository in an empty bucket location and opens it.
func Init(ctx context.Context, b *blob.Bucket, o InitOptions) (*Repository, error) {
	if o.Password == "" {
		return nil, errors.New("init repository: a password is required")
	}
	o = o.withDefaults()
	if ok, err := b.Exists(ctx, objConfig); err != nil {
		return nil, fmt.Errorf("init repository: %w", err)
	} else if ok {
		return nil, fmt.Errorf("init repository: %w", ErrExists)
	}

	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return nil, fmt.Errorf("init repository: polynomial: %w", err)
	}
	s := passphraseSecrets{Writer: writerKeys{IDKey: newKey(), MetaKey: newKey(), Polynomial: pol}}
	mode := ModePassphrase
	var dataTo *age.X25519Recipient
	if o.Recipient != "" {
		mode = ModeRecipient
		if dataTo, err = age.ParseX25519Recipient(o.Recipient); err != nil {
			return nil, fmt.Errorf("init repository: recipient: %w", err)
		}
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("init repository: %w", err)
		}
		s.Identity = id.String()
		dataTo = id.Recipient()
	}
	s.Writer.Recipient = dataTo.String()

	now := o.Clock()
	kf, err := newKeyFile(mode, s, o.Password, o.WorkFactor, dataTo, now)
	if err != nil {
		return nil, fmt.Errorf("init repository: %w", err)
	}
	cfg := Config{Version: formatVersion, ID: randomID(), Mode: mode, Created: now.UTC(),
		Chunker: o.Chunker, PackSize: o.PackSize}
	if err := writeInit(ctx, b, kf, cfg, &s.Writer); err != nil {
		return nil, fmt.Errorf("init repository: %w", err)
	}
	return Open(ctx, b, Credentials{Password: o.Password}, o.Clock)
}

func (o InitOptions) withDefaults() InitOptions {
	if o.Chunker.MinSize == 0 {
		o.Chunker.MinSize = DefaultMinChunk
	}
	if o.Chunker.MaxSize == 0 {
		o.Chunker.MaxSize = DefaultMaxChunk
	}
	if o.Chunker.AverageBits == 0 {
		o.Chunker.AverageBits = DefaultAverageBits
	}
	if o.PackSize == 0 {
		o.PackSize = DefaultPackSize
	}
	if o.WorkFactor == 0 {
		o.WorkFactor = DefaultWorkFactor
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return o
}

func writeInit(ctx context.Context, b *blob.Bucket, kf *keyFile, cfg Config, w *writerKeys) error {
	kdata, err := json.Marshal(kf)
	if err != nil {
		return err
	}
	if err := put(ctx, b, dirKeys+randomID().String(), kdata); err != nil {
		return err
	}
	meta, err := newAEAD(w.MetaKey)
	if err != nil {
		return err
	}
	cdata, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return put(ctx, b, objConfig, seal(meta, nil, cdata, []byte(objConfig)))
}

// Open opens the repository in b with the given credentials. A nil clock
// means time.Now.
func Open(ctx context.Context, b *blob.Bucket, c Credentials,
	clock func() time.Time) (*Repository, error) {
	if clock == nil {
		clock = time.Now
	}
	w, readers, err := findKey(ctx, b, c)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	r := &Repository{bucket: b, keys: *w, readers: readers, clock: clock}
	if r.meta, err = newAEAD(w.MetaKey); err != nil {
		return nil, fmt.Errorf("open repository: meta key: %w", err)
	}
	if r.dataTo, err = age.ParseX25519Recipient(w.Recipient); err != nil {
		return nil, fmt.Errorf("open repository: recipient: %w", err)
	}
	if err := r.getSealed(ctx, objConfig, &r.cfg); err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	if r.cfg.Version != formatVersion {
		return nil, fmt.Errorf("open repository: format version %d is not supported", r.cfg.Version)
	}
	return r, nil
}

// Config returns the repository's settings.
func (r *Repository) Config() Config { return r.cfg }

// CanRead reports whether old data can be read: false for a recipient-mode
// repository opened without its identity.
func (r *Repository) CanRead() bool { return len(r.readers) > 0 }

func (r *Repository) needRead() error {
	if !r.CanRead() {
		return ErrWriteOnly
	}
	return nil
}

// blobID computes the keyed id of a plaintext blob.
func (r *Repository) blobID(data []byte) ID {
	h, _ := blake3.NewKeyed(r.keys.IDKey) // the key length is checked at Open
	_, _ = h.Write(data)
	var id ID
	h.Sum(id[:0])
	return id
}

// putSealed stores v as JSON sealed with the metadata key. The object name is
// the additional data, so a sealed object cannot be moved to another name.
func (r *Repository) putSealed(ctx context.Context, key string, v any) error {
	data, err := r.sealJSON(key, v)
	if err != nil {
		return err
	}
	return put(ctx, r.bucket, key, data)
}

// sealJSON encodes v and seals it for the object key.
func (r *Repository) sealJSON(key string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return seal(r.meta, nil, plain, []byte(key)), nil
}

// getSealed reads what putSealed stored.
func (r *Repository) getSealed(ctx context.Context, key string, v any) error {
	data, err := r.bucket.ReadAll(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, notFound(err))
	}
	plain, err := open(r.meta, nil, data, []byte(key))
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%s: %w: %w", key, ErrCorrupt, err)
	}
	return nil
}

// put publishes an object once; objects are never overwritten. It writes
// through a Writer rather than WriteAll, which would hash the data with MD5
// twice: packs are named by their BLAKE3 hash and objects are authenticated,
// so the MD5 adds no protection for its cost.
func put(ctx context.Context, b *blob.Bucket, key string, data []byte) error {
	opts := &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true}
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// object is one listed object.
type object struct {
	Key     string
	Name    string // the key without its folder
	Size    int64
	ModTime time.Time
}

// listObjects lists every object under prefix, recursively. A folder
// listing can meet a temporary file that is renamed or removed before its
// size is read; that fails the listing with NotFound, so it lists again.
func listObjects(ctx context.Context, b *blob.Bucket, prefix string) ([]object, error) {
	for attempt := 1; ; attempt++ {
		out, err := tryListObjects(ctx, b, prefix)
		if err == nil || gcerrors.Code(err) != gcerrors.NotFound || attempt == 5 {
			return out, err
		}
	}
}

func tryListObjects(ctx context.Context, b *blob.Bucket, prefix string) ([]object, error) {
	var out []object
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if o.IsDir || strings.HasSuffix(o.Key, ".tmp") {
			continue
		}
		name := o.Key[strings.LastIndexByte(o.Key, '/')+1:]
		out = append(out, object{Key: o.Key, Name: name, Size: o.Size, ModTime: o.ModTime})
	}
}

// notFound adds ErrNotFound to storage errors that say the object is missing.
func notFound(err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func packKey(id ID) string {
	s := id.String()
	return dirData + s[:2] + "/" + s
}
