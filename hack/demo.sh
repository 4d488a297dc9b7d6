#!/usr/bin/env bash
# The demo: runs against the cluster in $KUBECONFIG (make demo starts a local
# one). It deploys the example app and shows it running.
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl="$(bash hack/k8sbin.sh)/kubectl"
cairn=bin/cairn

step() { printf '\n==> %s\n' "$*"; }

step "cairn version"
"$cairn" version

step "deploy the example app (examples/shop.yaml)"
"$kubectl" apply -f examples/shop.yaml
"$kubectl" -n shop rollout status deployment/my-deployment --timeout=5s >/dev/null 2>&1 || true
for _ in $(seq 50); do
	[ -n "$("$kubectl" -n shop get pods -l app=my-app -o name)" ] && break
	sleep 0.2
done
"$kubectl" -n shop get deployment,replicaset,pod,pvc
