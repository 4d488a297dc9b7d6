package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/cairn-backup/cairn/internal/backup"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// origin is what the server knows of a scheduled backup beyond its
// manifest: the Schedule that made it and the tick. It is kept in the
// location beside the manifest, at backups/<name>/origin.json, so that a
// cluster syncing the location can label the Backup after its source
// schedule, where the owner reference to that Schedule would dangle. The
// file is written before the engine runs, so it is there whenever the
// manifest is, and is removed with the rest of the backup's folder. The
// manifest's format does not cover it; a reader that does not know it
// ignores it. It is not tied to one run's uid, which is drawn only once the
// engine starts: a run that never published leaves it behind, and a later
// backup of the same name made by hand would be read as scheduled. Scheduled
// names end in their tick, so that takes a hand-made name copied from one;
// recording the origin in the manifest itself would close the gap.
type origin struct {
	// Schedule names the Schedule that created the Backup.
	Schedule string `json:"schedule"`
	// ScheduledTime is the tick that made it.
	ScheduledTime *time.Time `json:"scheduledTime,omitempty"`
}

func originKey(name string) string {
	return path.Join(path.Dir(backup.ManifestKey(name)), "origin.json")
}

// writeOrigin records the Schedule of a scheduled Backup in its location
// before the backup runs. A backup already published under the name keeps
// its own record: the run will be refused anyway.
func writeOrigin(ctx context.Context, loc *location.Location, b *v1alpha1.Backup) error {
	o := origin{Schedule: b.Labels[v1alpha1.LabelSchedule]}
	if o.Schedule == "" {
		return nil
	}
	if at, ok := b.Annotations[v1alpha1.AnnotationScheduledTime]; ok {
		if t, err := time.Parse(time.RFC3339, at); err == nil {
			o.ScheduledTime = &t
		}
	}
	if ok, err := loc.Exists(ctx, backup.ManifestKey(b.Name)); err != nil || ok {
		return err
	}
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if err := loc.Put(ctx, originKey(b.Name), data); err != nil {
		return fmt.Errorf("backup %s: write origin: %w", b.Name, err)
	}
	return nil
}

// readOrigin reads the origin of a published backup; nil when the backup
// has none, as for backups made by hand or with the CLI.
func readOrigin(ctx context.Context, loc *location.Location, name string) (*origin, error) {
	data, err := loc.Get(ctx, originKey(name))
	if errors.Is(err, location.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup %s: read origin: %w", name, err)
	}
	var o origin
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("backup %s: origin: %w", name, err)
	}
	return &o, nil
}

// label copies an origin onto the metadata of a synced Backup.
func (o *origin) label(b *v1alpha1.Backup) {
	if o == nil || len(validation.IsValidLabelValue(o.Schedule)) > 0 {
		return
	}
	b.Labels[v1alpha1.LabelSourceSchedule] = o.Schedule
	if o.ScheduledTime != nil {
		b.Annotations[v1alpha1.AnnotationScheduledTime] = o.ScheduledTime.UTC().
			Format(time.RFC3339)
	}
}
