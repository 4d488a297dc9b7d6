#!/usr/bin/env bash
# Builds the pinned S3-compatible test server (versitygw, posix backend) from
# test/s3bin into a cache folder that outlives the repository checkout, and
# prints the binary's path. A binary already there is not rebuilt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '$1 == "github.com/versity/versitygw" && $2 ~ /^v/ {print $2; exit}' \
	"$root/test/s3bin/go.mod")
dir=${CAIRN_S3_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn/versitygw-$version}
bin=$dir/versitygw

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "building versitygw $version into $dir (about a minute)" >&2
cd "$root/test/s3bin"
go build -trimpath -ldflags="-s -w" -o "$tmp/versitygw" github.com/versity/versitygw/cmd/versitygw
# A rename is atomic, so a concurrent run never sees half a binary.
mv "$tmp/versitygw" "$bin"
echo "$bin"
