// Package config owns cairn's client configuration file: the named
// locations a user has added, with their options, and which one is the
// default. The file lives at $XDG_CONFIG_HOME/cairn/config.yaml (or
// ~/.config/cairn/config.yaml), or where $CAIRN_CONFIG points.
//
// The file holds no secrets: a location names its credentials file and its
// key files, and may list age public keys (recipients), which are not
// secret; private keys and passphrases never enter it. It is written whole
// to a temporary file and renamed into place, so a reader sees the old or
// the new file, never half of one; mode 0600. Two commands changing the
// file at the same moment may lose one change: the last rename wins. A
// lock file around load and save would fix that; adding locations is rare
// and done by hand, so it has not been needed.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Version is the version of the file format this package writes.
const Version = 1

// PathEnv names the environment variable that overrides the file's path.
const PathEnv = "CAIRN_CONFIG"

// ErrNotFound is returned for a location name that is not configured.
var ErrNotFound = errors.New("no such location")

// ErrExists is returned when adding a name that is taken.
var ErrExists = errors.New("location exists")

// Config is the content of the configuration file.
type Config struct {
	// Version is the file format version.
	Version int `json:"version"`
	// DefaultLocation names the location used when a command is given none.
	DefaultLocation string `json:"defaultLocation,omitempty"`
	// Locations are the named locations, in the order added.
	Locations []Location `json:"locations"`
}

// Location is one named location.
type Location struct {
	// Name is how commands refer to the location (--location NAME).
	Name string `json:"name"`
	// URL is the location's URL, with its options.
	URL string `json:"url"`
	// ReadOnly makes commands refuse to write to the location.
	ReadOnly bool `json:"readOnly,omitempty"`
	// CredentialsFile holds the store's credentials (an absolute path).
	CredentialsFile string `json:"credentialsFile,omitempty"`
	// Recipients are age public keys ("age1...") that backups written to
	// the location are encrypted to.
	Recipients []string `json:"recipients,omitempty"`
	// RecipientFiles hold more public keys, one per line (absolute paths).
	RecipientFiles []string `json:"recipientFiles,omitempty"`
	// IdentityFiles hold the private keys that read the location's
	// encrypted backups (absolute paths).
	IdentityFiles []string `json:"identityFiles,omitempty"`
}

// Path returns the path of the configuration file.
func Path() (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		return p, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the configuration folder: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "cairn", "config.yaml"), nil
}

// Load reads the configuration file; a missing file is an empty
// configuration. Unknown fields are errors, so that a mistyped option is
// not silently ignored.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{Version: Version}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	if c.Version > Version {
		return nil, fmt.Errorf("configuration %s: version %d is newer than this cairn "+
			"understands (%d)", path, c.Version, Version)
	}
	c.Version = Version
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	seen := map[string]bool{}
	for _, l := range c.Locations {
		if err := CheckName(l.Name); err != nil {
			return err
		}
		if seen[l.Name] {
			return fmt.Errorf("location %s is listed twice", l.Name)
		}
		seen[l.Name] = true
		if l.URL == "" {
			return fmt.Errorf("location %s has no url", l.Name)
		}
	}
	if c.DefaultLocation != "" && !seen[c.DefaultLocation] {
		return fmt.Errorf("the default location %s is not listed", c.DefaultLocation)
	}
	return nil
}

// Save writes the configuration file atomically, with mode 0600, creating
// its folder (mode 0700) when missing.
func (c *Config) Save(path string) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write configuration %s: %w", path, err)
	}
	return nil
}

// CheckName accepts location names: lowercase letters, digits, dots,
// hyphens and underscores, starting with a letter or digit, at most 63
// characters. A name cannot be mistaken for a path or a URL.
func CheckName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("location name %q: must have 1 to 63 characters", name)
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '-' && c != '_') {
			return fmt.Errorf("location name %q: use lowercase letters, digits, dots, "+
				"hyphens and underscores, starting with a letter or digit", name)
		}
	}
	return nil
}

// Get returns the location called name.
func (c *Config) Get(name string) (Location, bool) {
	i := c.index(name)
	if i < 0 {
		return Location{}, false
	}
	return c.Locations[i], true
}

func (c *Config) index(name string) int {
	return slices.IndexFunc(c.Locations, func(l Location) bool { return l.Name == name })
}

// Add adds a location, and makes it the default if asked to.
func (c *Config) Add(l Location, makeDefault bool) error {
	if err := CheckName(l.Name); err != nil {
		return err
	}
	if c.index(l.Name) >= 0 {
		return fmt.Errorf("%w: %s", ErrExists, l.Name)
	}
	c.Locations = append(c.Locations, l)
	if makeDefault {
		c.DefaultLocation = l.Name
	}
	return nil
}

// Remove removes a location; if it was the default, there is none after.
func (c *Config) Remove(name string) error {
	i := c.index(name)
	if i < 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	c.Locations = slices.Delete(c.Locations, i, i+1)
	if c.DefaultLocation == name {
		c.DefaultLocation = ""
	}
	return nil
}

// Resolve turns what a user gave as --location into a location: the
// default location for "", a configured name, or a URL or path. A URL that
// a configured location has takes that location's options. A bare word
// that is neither a name nor an existing folder is an error, so that a
// mistyped name does not quietly become a new folder; write ./word for a
// new folder.
func (c *Config) Resolve(ref string) (Location, error) {
	if ref == "" {
		if c.DefaultLocation == "" {
			return Location{}, nil
		}
		ref = c.DefaultLocation
	}
	if l, ok := c.Get(ref); ok {
		return l, nil
	}
	for _, l := range c.Locations {
		if l.URL == ref {
			return l, nil
		}
	}
	if strings.ContainsAny(ref, "/:") || ref == "." || ref == ".." {
		return Location{URL: ref}, nil
	}
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		return Location{URL: ref}, nil
	}
	return Location{}, fmt.Errorf("%w: %s is not a configured location (see cairn location "+
		"list) nor a folder; write ./%s for a new folder", ErrNotFound, ref, ref)
}
