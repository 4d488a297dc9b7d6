package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Phase is where a Backup or Restore is in its life.
// +kubebuilder:validation:Enum=New;InProgress;Completed;PartiallyFailed;Failed;FailedValidation
type Phase string

// The phases of a Backup or Restore. Completed, PartiallyFailed, Failed and
// FailedValidation are terminal: the run is over and the phase never
// changes again.
const (
	// PhaseNew: accepted, not yet started.
	PhaseNew Phase = "New"
	// PhaseInProgress: the engine is running.
	PhaseInProgress Phase = "InProgress"
	// PhaseCompleted: every selected object was handled.
	PhaseCompleted Phase = "Completed"
	// PhasePartiallyFailed: the run finished, but some objects or types
	// could not be handled; status.errors counts them.
	PhasePartiallyFailed Phase = "PartiallyFailed"
	// PhaseFailed: the run stopped; status.failureReason says why.
	PhaseFailed Phase = "Failed"
	// PhaseFailedValidation: the spec was refused before anything ran.
	PhaseFailedValidation Phase = "FailedValidation"
)

// Terminal reports whether a run in this phase is over.
func (p Phase) Terminal() bool {
	switch p {
	case PhaseCompleted, PhasePartiallyFailed, PhaseFailed, PhaseFailedValidation:
		return true
	}
	return false
}

// Succeeded reports whether a run in this phase produced a usable result.
func (p Phase) Succeeded() bool { return p == PhaseCompleted || p == PhasePartiallyFailed }

// Progress counts the work of a running Backup or Restore.
type Progress struct {
	// ItemsDone is how many resource types (for a backup) or objects (for
	// a restore) are finished.
	ItemsDone int64 `json:"itemsDone"`
	// ItemsTotal is how many there are in all; 0 while unknown.
	ItemsTotal int64 `json:"itemsTotal"`
	// Objects is the number of objects handled so far.
	Objects int64 `json:"objects"`
	// Bytes is the size of the objects handled so far, in bytes of JSON.
	Bytes int64 `json:"bytes"`
}

// RunStatus is the part of the status a Backup and a Restore share.
type RunStatus struct {
	// Phase is where the run is.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Progress counts the work done while the run goes on, and in all once
	// it is over.
	// +optional
	Progress *Progress `json:"progress,omitempty"`
	// StartTime is when the run started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the run ended, successfully or not.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Warnings counts problems that did not cost any object.
	// +optional
	Warnings int `json:"warnings,omitempty"`
	// Errors counts the objects or types that could not be handled.
	// +optional
	Errors int `json:"errors,omitempty"`
	// FailureReason says why the run is Failed or FailedValidation.
	// +optional
	FailureReason string `json:"failureReason,omitempty"`
	// Conditions are the latest observations of the run.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types.
const (
	// ConditionCompleted is True once a run is over, with the phase as
	// its reason.
	ConditionCompleted = "Completed"
	// ConditionCancelled is True once a cancel was asked for and seen.
	ConditionCancelled = "Cancelled"
	// ConditionAvailable is True while a BackupLocation can be used.
	ConditionAvailable = "Available"
	// ConditionInLocation is False for a Backup whose data is no longer in
	// its location.
	ConditionInLocation = "InLocation"
	// ConditionSynced is False when some of a location's backups could not
	// be read or given a resource.
	ConditionSynced = "Synced"
)

// Labels and annotations the server sets.
const (
	// LabelSchedule names the Schedule that created a Backup.
	LabelSchedule = "cairn.dev/schedule"
	// LabelSourceSchedule names, on a Backup synced from its location, the
	// Schedule that created the backup in the cluster that wrote it. It is
	// not LabelSchedule, so that no Schedule of the reading cluster counts
	// another cluster's backups as its own and applies its retention.
	LabelSourceSchedule = "cairn.dev/source-schedule"
	// LabelLocation names the BackupLocation a Backup is kept in.
	LabelLocation = "cairn.dev/location"
	// AnnotationScheduledTime holds the tick, in RFC 3339, that made a
	// scheduled Backup; retention sorts by it.
	AnnotationScheduledTime = "cairn.dev/scheduled-time"
	// AnnotationSynced marks a Backup created by sync from a backup found in
	// its location.
	AnnotationSynced = "cairn.dev/synced"
)
