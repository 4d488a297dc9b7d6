# cairn's two entry points: `make demo` runs the main job on a local control
# plane, `make test` runs every check and test. Both build what they need.

GO        ?= go
CACHE     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/cairn
TOOLS     := $(CACHE)/tools
STATICCHECK_VERSION := v0.8.2
CONTROLLER_GEN_VERSION := v0.23.0
TEST_TIMEOUT ?= 60m
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X github.com/cairn-backup/cairn/internal/version.Version=$(VERSION) \
             -X github.com/cairn-backup/cairn/internal/version.Commit=$(COMMIT)

.PHONY: all build test lint tools k8sbin s3bin demo bench cluster-up cluster-down clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/cairn ./cmd/cairn

# k8sbin builds the pinned etcd, kube-apiserver, kube-controller-manager and
# kubectl once per machine, before any test starts (the first build takes
# several minutes).
k8sbin:
	@bash hack/k8sbin.sh >/dev/null

# s3bin builds the pinned S3-compatible server (versitygw) that the location
# tests start on loopback, once per machine.
s3bin:
	bash hack/s3bin.sh

tools: $(TOOLS)/staticcheck

# generate rewrites the CRDs in config/crd and the API deep-copy functions
# from internal/server/api; TestCRDsCurrent fails when they are stale.
generate: $(TOOLS)/controller-gen
	$(TOOLS)/controller-gen object paths=./internal/server/api/...
	$(TOOLS)/controller-gen crd paths=./internal/server/api/... output:crd:artifacts:config=config/crd

$(TOOLS)/controller-gen:
	GOBIN=$(TOOLS) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...

test: k8sbin s3bin lint
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# bench prints the scale table of docs/performance.md: cairn backup and
# restore beside the API server's raw list and create ceilings, on a local
# control plane, at 10k and 100k objects (OBJECTS=10000 for a quick run).
OBJECTS ?= 10000,100000
bench: k8sbin
	$(GO) run ./bench/scale -objects $(OBJECTS) -workers 16

demo: build k8sbin
	$(GO) run ./test/controlplane/cmd/cairn-cluster run -- bash hack/demo.sh

cluster-up: k8sbin
	@$(GO) run ./test/controlplane/cmd/cairn-cluster up

cluster-down:
	@$(GO) run ./test/controlplane/cmd/cairn-cluster down

clean:
	rm -rf bin
