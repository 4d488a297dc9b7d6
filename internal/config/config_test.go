package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/config"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		name, env, xdg, want string
	}{
		{"Env", "/etc/cairn.yaml", "/xdg", "/etc/cairn.yaml"},
		{"XDG", "", "/xdg", "/xdg/cairn/config.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(config.PathEnv, tc.env)
			t.Setenv("XDG_CONFIG_HOME", tc.xdg)
			got, err := config.Path()
			if err != nil || got != tc.want {
				t.Fatalf("Path() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"prod", true},
		{"s3-eu.west_1", true},
		{"9lives", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Prod", false},
		{"-x", false},
		{".hidden", false},
		{"a/b", false},
		{"s3:x", false},
		{"with space", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := config.CheckName(tc.name); (err == nil) != tc.ok {
				t.Fatalf("CheckName(%q) = %v, want ok %v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.yaml")
	c, err := config.Load(path)
	if err != nil || len(c.Locations) != 0 || c.Version != config.Version {
		t.Fatalf("Load of a missing file = %+v, %v; want an empty configuration", c, err)
	}
	want := config.Location{
		Name: "prod", URL: "s3://bkt/team?region=eu-west-1", ReadOnly: true,
		CredentialsFile: "/etc/cairn/creds", Recipients: []string{"age1xyz"},
		RecipientFiles: []string{"/etc/cairn/team.pub"},
		IdentityFiles:  []string{"/etc/cairn/key.txt"},
	}
	if err := c.Add(want, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(config.Location{Name: "home", URL: "file:///srv/b"}, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want 0600", st.Mode(), err)
	}
	back, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("loaded %+v, saved %+v", back, c)
	}
	if got, ok := back.Get("prod"); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Get(prod) = %+v, %v", got, ok)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".config-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"UnknownField", "version: 1\nlocations:\n- name: a\n  url: /x\n  read_only: true\n",
			"unknown field"},
		{"Newer", "version: 2\nlocations: []\n", "newer"},
		{"Twice", "version: 1\nlocations:\n- {name: a, url: /x}\n- {name: a, url: /y}\n",
			"twice"},
		{"NoURL", "version: 1\nlocations:\n- {name: a}\n", "no url"},
		{"BadName", "version: 1\nlocations:\n- {name: A, url: /x}\n", "location name"},
		{"DefaultUnlisted", "version: 1\ndefaultLocation: b\nlocations:\n- {name: a, url: /x}\n",
			"not listed"},
		{"NotYAML", "version: [\n", "config.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestAddRemove(t *testing.T) {
	c := &config.Config{Version: config.Version}
	if err := c.Add(config.Location{Name: "a", URL: "/a"}, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		op      func() error
		wantErr error
		wantDef string
		wantN   int
	}{
		{"AddTaken", func() error {
			return c.Add(config.Location{Name: "a", URL: "/b"}, false)
		}, config.ErrExists, "a", 1},
		{"AddBadName", func() error {
			return c.Add(config.Location{Name: "B", URL: "/b"}, false)
		}, nil, "a", 1},
		{"AddSecondKeepsDefault", func() error {
			return c.Add(config.Location{Name: "b", URL: "/b"}, false)
		}, nil, "a", 2},
		{"RemoveUnknown", func() error { return c.Remove("zz") }, config.ErrNotFound, "a", 2},
		{"RemoveDefault", func() error { return c.Remove("a") }, nil, "", 1},
		{"AddNewDefault", func() error {
			return c.Add(config.Location{Name: "c", URL: "/c"}, true)
		}, nil, "c", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if tc.name == "AddBadName" && err == nil {
				t.Error("a bad name was added")
			}
			if c.DefaultLocation != tc.wantDef || len(c.Locations) != tc.wantN {
				t.Errorf("default %q with %d locations, want %q with %d",
					c.DefaultLocation, len(c.Locations), tc.wantDef, tc.wantN)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("existing", 0o700); err != nil {
		t.Fatal(err)
	}
	prod := config.Location{Name: "prod", URL: "s3://bkt/x?region=r", ReadOnly: true}
	home := config.Location{Name: "home", URL: "file:///srv/b"}
	withDefault := &config.Config{Locations: []config.Location{prod, home},
		DefaultLocation: "home"}
	noDefault := &config.Config{Locations: []config.Location{prod, home}}

	for _, tc := range []struct {
		name string
		c    *config.Config
		ref  string
		want config.Location
		err  error
	}{
		{"Default", withDefault, "", home, nil},
		{"NoDefault", noDefault, "", config.Location{}, nil},
		{"Name", noDefault, "prod", prod, nil},
		{"ConfiguredURL", noDefault, "s3://bkt/x?region=r", prod, nil},
		{"OtherURL", noDefault, "s3://other", config.Location{URL: "s3://other"}, nil},
		{"Path", noDefault, "/var/b", config.Location{URL: "/var/b"}, nil},
		{"RelativePath", noDefault, "./new", config.Location{URL: "./new"}, nil},
		{"Dot", noDefault, ".", config.Location{URL: "."}, nil},
		{"ExistingFolder", noDefault, "existing", config.Location{URL: "existing"}, nil},
		{"Mistyped", noDefault, "prdo", config.Location{}, config.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Resolve(tc.ref)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Resolve(%q) error %v, want %v", tc.ref, err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Resolve(%q) = %+v, want %+v", tc.ref, got, tc.want)
			}
		})
	}
}
