#!/usr/bin/env bash
# Builds the pinned control-plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kubectl) from test/k8sbin into a cache folder that
# outlives the repository checkout, and prints that folder. Binaries already
# there are not rebuilt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$root/test/k8sbin/go.mod")
dir=${CAIRN_K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn/k8s-$version}

declare -A pkgs=(
	[etcd]=go.etcd.io/etcd/server/v3
	[kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
	[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
	[kubectl]=k8s.io/kubernetes/cmd/kubectl
)

missing=()
for name in "${!pkgs[@]}"; do
	[ -x "$dir/$name" ] || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "$dir"
	exit 0
fi

# Stamp the Kubernetes version, as a release build does, so that /version
# reports it.
minor=${version#v1.}
minor=${minor%%.*}
cb=k8s.io/component-base/version
ldflags="-X $cb.gitVersion=$version -X $cb.gitMajor=1 -X $cb.gitMinor=$minor -X $cb.gitTreeState=clean"

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "building ${missing[*]} into $dir (the first build takes several minutes)" >&2
cd "$root/test/k8sbin"
for name in "${missing[@]}"; do
	go build -trimpath -ldflags="-s -w $ldflags" -o "$tmp/$name" "${pkgs[$name]}"
	# A rename is atomic, so a concurrent run never sees half a binary.
	mv "$tmp/$name" "$dir/$name"
done
echo "$dir"
