package location_test

import (
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/test/s3server"
)

func TestCheck(t *testing.T) {
	srv := s3server.New(t, s3server.Options{})
	srv.Bucket(t, "checked")
	creds := srv.Credentials(t)
	for _, tc := range []struct {
		name    string
		url     string
		opts    location.Options
		wantOK  bool
		skipped bool   // write, read and delete are skipped
		failAt  string // the step that fails
	}{
		{name: "File", url: t.TempDir(), wantOK: true},
		{name: "FileReadOnly", url: t.TempDir(), opts: location.Options{ReadOnly: true},
			wantOK: true, skipped: true},
		{name: "S3", url: srv.URL("checked", "team"),
			opts: location.Options{CredentialsFile: creds}, wantOK: true},
		{name: "S3NoBucket", url: srv.URL("missing", ""),
			opts: location.Options{CredentialsFile: creds}, failAt: location.StepList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := location.OpenWith(t.Context(), tc.url, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = l.Close() }()
			rep, err := l.Check(t.Context(), 3<<20)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tc.wantOK {
				t.Fatalf("OK = %v, want %v: %+v", rep.OK, tc.wantOK, rep.Steps)
			}
			checkSteps(t, rep, tc.skipped, tc.failAt)
			if tc.wantOK && !tc.skipped && (rep.UploadMBps <= 0 || rep.DownloadMBps <= 0) {
				t.Errorf("throughput up %.1f, down %.1f MB/s", rep.UploadMBps, rep.DownloadMBps)
			}
			if tc.failAt == "" {
				keys, err := l.List(t.Context(), location.CheckPrefix, "")
				if err != nil || len(keys) != 0 {
					t.Errorf("probe objects left behind: %v, %v", keys, err)
				}
			}
		})
	}
}

func checkSteps(t *testing.T, rep *location.CheckReport, skipped bool, failAt string) {
	t.Helper()
	want := []string{location.StepList, location.StepWrite, location.StepRead,
		location.StepDelete}
	if failAt != "" {
		want = want[:1]
	}
	if len(rep.Steps) != len(want) {
		t.Fatalf("steps %+v, want %v", rep.Steps, want)
	}
	for i, s := range rep.Steps {
		if s.Name != want[i] {
			t.Errorf("step %d is %s, want %s", i, s.Name, want[i])
		}
		if s.Name == failAt {
			if s.OK || s.Error == "" {
				t.Errorf("step %s: %+v, want a failure with its error", s.Name, s)
			}
			continue
		}
		if !s.OK || s.Skipped != (skipped && i > 0) {
			t.Errorf("step %s: %+v", s.Name, s)
		}
	}
}

func TestValidateAndDisplay(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, raw   string
		wantStored  string // empty: want an error
		wantDisplay string
	}{
		{"PlainPath", dir, "file://" + dir, "file://" + dir},
		{"FileURL", "file://" + dir + "/", "file://" + dir, "file://" + dir},
		{"S3KeepsOptions", "s3://bkt/x?region=eu-west-1",
			"s3://bkt/x?region=eu-west-1", "s3://bkt/x"},
		{"UnknownOption", "s3://bkt?endpiont=x", "", "s3://bkt?endpiont=x"},
		{"UnknownScheme", "nosuch://bkt", "", "nosuch://bkt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := location.Validate(tc.raw)
			switch {
			case tc.wantStored == "" && err == nil:
				t.Errorf("Validate(%q) = %q, want an error", tc.raw, got)
			case tc.wantStored != "" && got != tc.wantStored:
				t.Errorf("Validate(%q) = %q, %v; want %q", tc.raw, got, err, tc.wantStored)
			}
			if d := location.Display(tc.raw); d != tc.wantDisplay {
				t.Errorf("Display(%q) = %q, want %q", tc.raw, d, tc.wantDisplay)
			}
			if strings.Contains(location.Display(tc.raw), "?") && tc.wantStored != "" {
				t.Errorf("Display(%q) shows options", tc.raw)
			}
		})
	}
}
