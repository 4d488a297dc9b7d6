// Package version reports which build of cairn is running.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at link time with
// -ldflags "-X github.com/cairn-backup/cairn/internal/version.Version=...".
// When unset, Commit falls back to the revision the Go toolchain stamped.
var (
	Version = "dev"
	Commit  = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if info.Commit != "" {
		return info
	}

	info.Commit = "unknown"
	build, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	var dirty bool
	for _, s := range build.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Commit != "unknown" {
		info.Commit += "-dirty"
	}
	return info
}
