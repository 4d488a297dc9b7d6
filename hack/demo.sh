#!/usr/bin/env bash
# The demo: runs against the cluster in $KUBECONFIG (make demo starts a local
# one). It deploys the example app, backs it up, deletes its namespace,
# restores it and shows that it is back.
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl="$(bash hack/k8sbin.sh)/kubectl"
cairn=${CAIRN:-bin/cairn}
location=$(mktemp -d "${TMPDIR:-/tmp}/cairn-demo-XXXXXX")
trap 'rm -rf "$location"' EXIT

step() { printf '\n==> %s\n' "$*"; }

show_app() {
	for _ in $(seq 100); do
		[ -n "$("$kubectl" -n shop get pods -l app=my-app -o name 2>/dev/null)" ] && break
		sleep 0.2
	done
	"$kubectl" -n shop get deployment,replicaset,pod,pvc
}

step "cairn version"
"$cairn" version

step "deploy the example app (examples/shop.yaml)"
"$kubectl" apply -f examples/shop.yaml
show_app

step "back up namespace shop to $location"
"$cairn" backup create shop-1 --include-namespaces shop --location "$location"
"$cairn" backup list --location "$location"

step "delete namespace shop"
"$kubectl" delete namespace shop --wait=true --timeout=120s
"$kubectl" get namespace shop 2>&1 || true

step "what a restore would do (server-side dry run; nothing changes)"
"$cairn" restore create shop-plan --from-backup shop-1 --location "$location" --dry-run

step "restore it from the backup"
"$cairn" restore create shop-back --from-backup shop-1 --location "$location"
"$cairn" restore list --location "$location"

step "the app is back: Deployment, its ReplicaSet and Pod (remade by the controllers), the claim"
show_app
if [ -z "$("$kubectl" get nodes -o name 2>/dev/null)" ]; then
	echo "Pod and claim stay Pending: the local control plane has no scheduler," \
		"kubelet or volume provisioner, so Pods never run on it."
fi
