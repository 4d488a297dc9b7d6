// Package repository owns cairn's store for volume data: a deduplicating,
// compressed and encrypted repository of folder snapshots, kept in any
// gocloud.dev/blob bucket (a local folder through fileblob, or S3).
//
// # Objects
//
// Every object is written once and never changed; only prune (and forget,
// for snapshots) deletes. Names below are relative to the bucket, which may
// be a blob.PrefixedBucket.
//
//	keys/<random>        key file, JSON: wrapped secrets (see Keys)
//	config               settings, sealed with the metadata key
//	data/<xx>/<pack id>  packs of blobs; the id is BLAKE3-256 of the bytes
//	index/<random>       which blobs each pack holds, sealed, zstd inside
//	snapshots/<random>   one snapshot, age-encrypted to the data recipient
//	sessions/<random>    a backup's or restore's start; <random>-end its end
//	deletes/<random>     a prune's mark: packs condemned, sealed
//	locks/prune          held while a prune runs
//
// # Keys
//
// Writer keys are a 32-byte id key, a 32-byte metadata key, the chunker
// polynomial and the age X25519 recipient that data keys are wrapped to.
// The reading key is that recipient's identity. In passphrase mode the
// identity is generated at init and stored with the writer keys, wrapped by
// age's scrypt recipient. In recipient mode the passphrase wraps only the
// writer keys (a second copy is encrypted to the recipient, so the identity
// alone also opens the repository): a writer adds snapshots but can read
// neither them nor any other data.
//
// # Blobs and packs
//
// Files are cut into chunks by content-defined chunking (Rabin fingerprints
// with the repository's secret polynomial; by default 512 KiB to 8 MiB,
// about 1 MiB on average). A blob is a chunk or an encoded Tree. Its id is
// keyed BLAKE3-256 of its plaintext, so equal content is stored once and
// ids reveal nothing to whoever lacks the id key. A blob is zstd-compressed
// when that makes it smaller, then sealed with AES-256-GCM under its pack's
// key with the blob id as additional data.
//
// A pack, about 16 MiB, is:
//
//	blob ... blob | header | wrapped key | hdrLen u32 | keyLen u32 | "CAIRNPK1"
//
// Each blob is nonce(12) ciphertext tag(16). The header lists, per blob,
// type, flags, id, offset, stored length and plaintext length (46 bytes
// each, little-endian), sealed with the metadata key, so writers and check
// can read it. The wrapped key is the pack's random AES key, age-encrypted to
// the data recipient: knowing one pack's key opens no other pack, and a
// writer forgets its keys once its packs are stored.
//
// # Index
//
// Index objects list packs with their size and header entries, zstd
// compressed and sealed with the metadata key. Writers need them to
// deduplicate, and they reveal only ids and lengths. A backup writes one
// after every 16 stored packs and at its end, also when interrupted, so its
// stored packs stay usable by the next backup.
//
// # Snapshots and trees
//
// A snapshot names the root Tree, the folder's own metadata, host, path,
// tags, parent and the backup session. A Tree is JSON: the sorted Nodes of
// one folder with type, mode, owner, times, inode, link count, symlink
// target, device number, extended attributes, and for files the chunk ids
// and the holes they skip.
//
// # Concurrency and prune
//
// Backups take no lock. Each writes its session object first, then reads
// the prune marks and index, and never deduplicates against condemned
// packs. A restore writes a session too, and reads each blob from a pack
// that no mark condemns whenever one holds it; a pack deleted under it (a
// condemned one, chosen when every copy was condemned, which a prune
// deletes once it has found the blobs in a pack it keeps) is looked up
// again in the index as it is then. Both also list data/ and set
// aside indexed packs that are missing or of another size than indexed:
// a backup stores their blobs again, a restore reads those from the new
// copies.
//
// Prune (one at a time, under locks/prune) works in two phases. It sweeps
// the marks of earlier prunes that no live session predates (live: no end
// object, no snapshot and younger than the session timeout), keeping any
// condemned pack holding a blob that a snapshot uses and no other pack has;
// it then writes a new index without the swept packs, deletes the old index
// objects it read, the packs and the marks; indexed packs that are not
// stored (lost, or damaged and deleted) are left out of the new index too. Then it marks: packs with no
// used blob, packs not in any index, and, after copying their used blobs
// into new packs, packs whose unused share exceeds MaxUnused.
//
// The prune lock is created only when absent. On S3 that is a conditional
// write. On a folder, fileblob's own check holds only within one process,
// so a repository told its location (UseLocation, as the CLI does) creates
// the lock through the location, which publishes it with a hard link that
// fails when another process holds it.
package repository
