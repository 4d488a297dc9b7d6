// Package archive owns cairn's backup format: the archive that holds a
// backup's API objects, and the manifest that describes it. It knows
// nothing of clusters or storage; it reads and writes byte streams. This
// comment is the format's specification, version 1; docs/format.md says
// the same for readers of the repository.
//
// # Archive
//
// An archive is a tar stream compressed with zstd, readable with
// "tar --zstd -xf". Its entries are regular files with mode 0644, uid and
// gid 0, no user or group names, and the backup's start time (to the
// second) as modification time, so the same objects added in the same order
// give the same tar bytes. Headers are USTAR, or PAX for names that USTAR
// cannot hold. The entries come in this order:
//
//  1. cairn-backup.json, the format entry, containing exactly
//     {"format":"cairn.backup","version":1} and a newline. It comes first so
//     that a reader refuses an unknown format or version before anything
//     else.
//  2. One entry per object, in the order the objects were added, at
//     resources/<group>/<version>/<resource>/<scope>/<name>.json. <group>
//     is "core" for the core (empty) group; <scope> is "cluster" for
//     cluster-scoped objects and "namespaces/<namespace>" for the others.
//     The content is the object's JSON exactly as the API server returned
//     it, status included: one JSON object of at most MaxObjectSize bytes.
//  3. index.jsonl, last: one JSON line per object entry, in the same order,
//     with the keys group, version, resource, namespace (omitted for
//     cluster-scoped objects), name, path, size, sha256 (lowercase hex of
//     the entry's content) and deleting (true when
//     metadata.deletionTimestamp is set; omitted otherwise).
//
// Nothing follows the index but the tar end marker and, optionally, zero
// padding.
//
// # Paths
//
// Object names may hold characters such as ':' (RBAC names), '@', '%', '.'
// and capitals; they appear in paths as they are. No part of a path may be
// empty, ".", "..", contain '/' or NUL, or be invalid UTF-8, and a real API
// group named "core" is refused because the core group's folder has that
// name. A path is at most MaxPathLen bytes. Readers accept only paths that
// the layout produces, so an archive cannot name a file outside the folder
// it is unpacked in. Most file systems limit one name to 255 bytes, so
// plain tar cannot unpack an object whose name is longer than 250 bytes,
// though this package reads it.
//
// # Integrity
//
// The index carries every object's SHA-256 and the manifest carries the
// index's SHA-256 and the archive's, so a manifest fixes every byte. zstd's
// frame checksum guards the compressed stream. Because the index comes last,
// Reader hands out objects before it can check them, and reports any
// mismatch when it reaches the index; Verify checks a whole archive.
//
// # Manifest
//
// The manifest (Manifest) is a JSON document stored beside the archive
// rather than in it, because it records the archive's own size and SHA-256.
// It is written after the archive; a backup exists only once its manifest
// does.
//
// # Versions
//
// FormatVersion numbers the archive layout and the manifest together.
// Readers refuse versions they do not know, with ErrUnsupportedVersion,
// rather than guess. Readers ignore JSON fields they do not know, so a
// field may be added without a new version when older readers can safely
// skip it; any other change takes a new version. The archive in
// testdata/v1 is a version 1 archive written when the format was fixed;
// it must keep opening.
package archive
