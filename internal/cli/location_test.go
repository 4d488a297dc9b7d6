package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/config"
	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/test/controlplane"
	"github.com/cairn-backup/cairn/test/s3server"
)

// useConfig points the client configuration at a new file.
func useConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	t.Setenv(config.PathEnv, path)
	return path
}

type cliStep struct {
	name string
	args []string
	code int
	want string // part of the output
}

func runSteps(t *testing.T, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, code := cairn(t, s.args...)
			if code != s.code || !strings.Contains(out, s.want) {
				t.Fatalf("cairn %s: exit %d, want %d with %q:\n%s",
					strings.Join(s.args, " "), code, s.code, s.want, out)
			}
		})
	}
}

func TestLocationCommands(t *testing.T) {
	path := useConfig(t)
	home := t.TempDir()
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "store")
	store := srv.URL("store", "cairn")
	creds := srv.Credentials(t)

	runSteps(t, []cliStep{
		{"ListEmpty", []string{"location", "list", "-o", "json"}, 0, "[]"},
		{"AddHome", []string{"location", "add", "home", home, "--default"}, 0,
			"location home added: file://" + home + " (default)"},
		{"AddStore", []string{"location", "add", "store", store, "--credentials-file", creds},
			0, "location store added: s3://store/cairn\n"},
		{"AddArchive", []string{"location", "add", "archive", store, "--read-only",
			"--credentials-file", creds}, 0, "added"},
		{"AddTaken", []string{"location", "add", "home", t.TempDir()}, 2, "location exists"},
		{"AddBadName", []string{"location", "add", "Home", home}, 2, "location name"},
		{"AddBadURL", []string{"location", "add", "x", "nosuch://bkt"}, 2, "unknown scheme"},
		{"AddBadOption", []string{"location", "add", "x", "s3://bkt?regoin=x"}, 2,
			"unknown option"},
		{"AddFolderCredentials", []string{"location", "add", "x", home,
			"--credentials-file", creds}, 2, "takes no credentials"},
		{"AddMissingCredentials", []string{"location", "add", "x", store,
			"--credentials-file", filepath.Join(home, "nope")}, 2, "no such file"},
		{"AddBadRecipient", []string{"location", "add", "x", home, "--recipient", "age1nope"},
			2, "recipient"},
		{"AddMissingIdentity", []string{"location", "add", "x", home, "--identity-file",
			filepath.Join(home, "nope")}, 2, "key file"},
		{"AddNoURL", []string{"location", "add", "x"}, 2, "takes NAME and URL"},
		{"List", []string{"location", "list"}, 0, "s3://store/cairn"},
		{"ListReadOnly", []string{"location", "list"}, 0, "read-only"},
		{"CheckStore", []string{"location", "check", "store", "--size-mb", "2"}, 0,
			"Upload"},
		{"CheckArchive", []string{"location", "check", "archive"}, 0, "skipped"},
		{"CheckDefault", []string{"location", "check", "--size-mb", "1"}, 0,
			"Location file://" + home},
		{"CheckURL", []string{"location", "check", t.TempDir(), "--size-mb", "1"}, 0, "Upload"},
		{"CheckUnknown", []string{"location", "check", "nosuch"}, 2,
			"not a configured location"},
		{"CheckBadSize", []string{"location", "check", "home", "--size-mb", "0"}, 2,
			"--size-mb"},
		{"CheckUnreachable", []string{"location", "check", srv.URL("missing", "")}, 1,
			"FAILED"},
		{"RemoveHome", []string{"location", "remove", "home"}, 0, "no default location"},
		{"RemoveAgain", []string{"location", "remove", "home"}, 2, "no such location"},
	})

	t.Run("ListJSON", func(t *testing.T) {
		out, code := cairn(t, "location", "list", "-o", "json")
		var list []struct {
			Name            string `json:"name"`
			URL             string `json:"url"`
			ReadOnly        bool   `json:"readOnly"`
			CredentialsFile string `json:"credentialsFile"`
			Default         bool   `json:"default"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 {
			t.Fatalf("exit %d, %v: %s", code, err, out)
		}
		if len(list) != 2 || list[0].Name != "store" || list[0].URL != store ||
			list[0].CredentialsFile != creds || list[0].ReadOnly || !list[1].ReadOnly {
			t.Fatalf("list = %+v", list)
		}
	})

	t.Run("CheckJSON", func(t *testing.T) {
		out, code := cairn(t, "location", "check", "store", "--size-mb", "1", "-o", "json")
		var rep struct {
			OK           bool    `json:"ok"`
			UploadMBps   float64 `json:"uploadMBps"`
			DownloadMBps float64 `json:"downloadMBps"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
			t.Fatalf("exit %d, %v: %s", code, err, out)
		}
		if !rep.OK || rep.UploadMBps <= 0 || rep.DownloadMBps <= 0 {
			t.Fatalf("report %+v", rep)
		}
	})

	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("configuration file: %v, %v", st, err)
	}
}

// TestLocationFlag checks that --location takes names, that a named
// location brings its read-only flag and keys, and that commands given no
// --location use the default location.
func TestLocationFlag(t *testing.T) {
	useConfig(t)
	cp := controlplane.Shared(t)
	ns := cp.Namespace(t)
	cp.Apply(t, controlplane.ExampleApp(t), ns)
	enc, ro := t.TempDir(), t.TempDir()
	identity, recipient, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "backup.key")
	if err := os.WriteFile(keyFile, []byte(identity), 0o600); err != nil {
		t.Fatal(err)
	}
	otherIdentity, _, _ := crypt.Generate()
	otherKey := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(otherKey, []byte(otherIdentity), 0o600); err != nil {
		t.Fatal(err)
	}

	runSteps(t, []cliStep{
		{"AddEncrypted", []string{"location", "add", "enc", enc, "--default",
			"--recipient", recipient, "--identity-file", keyFile}, 0, "added"},
		{"AddReadOnly", []string{"location", "add", "ro", ro, "--read-only"}, 0, "added"},
		{"CreateToDefault", []string{"backup", "create", "app-1", "--include-namespaces", ns},
			0, "in file://" + enc},
		{"DescribeByName", []string{"backup", "describe", "app-1", "--location", "enc"}, 0,
			"Encryption:        age"},
		{"VerifyWithConfiguredKey", []string{"backup", "verify", "app-1"}, 0, "OK"},
		{"VerifyByURL", []string{"backup", "verify", "app-1", "--location", "file://" + enc},
			0, "OK"},
		{"FlagKeyReplacesConfigured", []string{"backup", "verify", "app-1",
			"--identity-file", otherKey}, 1, "none of the given keys"},
		{"ReadOnlyRefusesWrites", []string{"backup", "create", "app-2",
			"--include-namespaces", ns, "--location", "ro"}, 1, "read-only"},
		{"ListReadOnly", []string{"backup", "list", "--location", "ro"}, 0, ""},
		{"UnknownName", []string{"backup", "list", "--location", "nosuch"}, 2,
			"not a configured location"},
		{"MissingFolderByPath", []string{"backup", "list", "--location",
			filepath.Join(t.TempDir(), "new")}, 1, "not found"},
	})
}
