package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ScheduleSpec is when to back up, what, and how many backups to keep.
type ScheduleSpec struct {
	// Schedule is a cron expression with five fields (minute hour
	// day-of-month month day-of-week), or a descriptor such as @daily or
	// @every 1h.
	// +kubebuilder:validation:MinLength=1
	Schedule string `json:"schedule"`
	// TimeZone is the IANA time zone the schedule and the daily, weekly and
	// monthly retention buckets are read in; empty means UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// Paused stops new runs; a run in progress goes on. Ticks that pass
	// while paused are not made up for.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// Template is stamped onto every Backup the schedule creates.
	Template BackupTemplate `json:"template"`
	// UseOwnerReferences makes the schedule the owner of the Backups it
	// creates, so that deleting it deletes them (and their data) through
	// the garbage collector unless the delete orphans them. Backups synced
	// into another cluster never carry the reference.
	// +optional
	UseOwnerReferences bool `json:"useOwnerReferences,omitempty"`
	// Retention removes the schedule's old backups.
	// +optional
	Retention Retention `json:"retention,omitempty"`
}

// Retention says which of a schedule's backups to keep. A backup is kept
// when any rule keeps it; with no count rule set, backups are kept until
// their TTL (template.ttl) runs out. Failed runs are kept until a later run
// succeeds.
type Retention struct {
	// KeepLast keeps the newest N successful backups.
	// +kubebuilder:validation:Minimum=0
	// +optional
	KeepLast *int32 `json:"keepLast,omitempty"`
	// KeepDaily keeps the newest backup of each of the last N days that
	// have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	KeepDaily *int32 `json:"keepDaily,omitempty"`
	// KeepWeekly keeps the newest backup of each of the last N ISO weeks
	// that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	KeepWeekly *int32 `json:"keepWeekly,omitempty"`
	// KeepMonthly keeps the newest backup of each of the last N months
	// that have one.
	// +kubebuilder:validation:Minimum=0
	// +optional
	KeepMonthly *int32 `json:"keepMonthly,omitempty"`
}

// SchedulePhase is the state of a Schedule.
// +kubebuilder:validation:Enum=Enabled;Paused;FailedValidation
type SchedulePhase string

// The phases of a Schedule.
const (
	SchedulePhaseEnabled          SchedulePhase = "Enabled"
	SchedulePhasePaused           SchedulePhase = "Paused"
	SchedulePhaseFailedValidation SchedulePhase = "FailedValidation"
)

// ScheduleStatus is what a Schedule has done.
type ScheduleStatus struct {
	// Phase is Enabled, Paused or FailedValidation.
	// +optional
	Phase SchedulePhase `json:"phase,omitempty"`
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ValidationError says why the schedule is FailedValidation.
	// +optional
	ValidationError string `json:"validationError,omitempty"`
	// LastScheduleTime is the last tick a Backup was created for.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// NextScheduleTime is the next tick; empty while paused.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// LastBackup names the last Backup created.
	// +optional
	LastBackup string `json:"lastBackup,omitempty"`
	// LastSuccessfulBackup names the newest Backup that succeeded.
	// +optional
	LastSuccessfulBackup string `json:"lastSuccessfulBackup,omitempty"`
	// SkippedRuns counts ticks passed over because the previous Backup was
	// still running.
	// +optional
	SkippedRuns int64 `json:"skippedRuns,omitempty"`
	// LastSkippedTime is the last tick passed over.
	// +optional
	LastSkippedTime *metav1.Time `json:"lastSkippedTime,omitempty"`
	// Conditions are the latest observations of the schedule.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Schedule makes Backups on a cron schedule and removes old ones.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=cairn
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Last",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextScheduleTime`
// +kubebuilder:printcolumn:name="Skipped",type=integer,JSONPath=`.status.skippedRuns`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Schedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScheduleSpec   `json:"spec,omitempty"`
	Status ScheduleStatus `json:"status,omitempty"`
}

// ScheduleList is a list of Schedules.
//
// +kubebuilder:object:root=true
type ScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Schedule `json:"items"`
}
