// Package config carries the manifests cairn installs into a cluster: the
// CustomResourceDefinitions of the cairn.dev resources, generated from
// internal/server/api/v1alpha1 by controller-gen (make generate) and
// embedded so the binary can install them.
package config

import "embed"

// CRDs holds the generated CustomResourceDefinitions, one per file, under
// crd/.
//
//go:embed crd/*.yaml
var CRDs embed.FS
