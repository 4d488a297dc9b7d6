package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BackupTemplate is what a backup takes and where it goes; a Schedule
// stamps it onto every Backup it creates.
type BackupTemplate struct {
	// Location names the BackupLocation to write to; empty means the one
	// marked default.
	// +optional
	Location string `json:"location,omitempty"`
	// IncludeNamespaces are namespace globs to back up; empty means all.
	// +optional
	IncludeNamespaces []string `json:"includeNamespaces,omitempty"`
	// ExcludeNamespaces are namespace globs to leave out.
	// +optional
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// IncludeResources name resource types as kubectl does
	// (deployments.apps); empty means all.
	// +optional
	IncludeResources []string `json:"includeResources,omitempty"`
	// ExcludeResources name resource types to leave out.
	// +optional
	ExcludeResources []string `json:"excludeResources,omitempty"`
	// Selector is a label selector every object must match, in kubectl
	// syntax.
	// +optional
	Selector string `json:"selector,omitempty"`
	// OrSelectors select objects matching any of them.
	// +optional
	OrSelectors []string `json:"orSelectors,omitempty"`
	// IncludeClusterResources decides on cluster-scoped objects (see
	// docs/backup.md).
	// +kubebuilder:validation:Enum=auto;"true";"false"
	// +kubebuilder:default=auto
	// +optional
	IncludeClusterResources string `json:"includeClusterResources,omitempty"`
	// IncludeEvents backs up events too.
	// +optional
	IncludeEvents bool `json:"includeEvents,omitempty"`
	// TTL is how long the backup is kept after it ends; then the server
	// deletes it, from the location too. Empty keeps it.
	// +optional
	TTL *metav1.Duration `json:"ttl,omitempty"`
	// Timeout fails a run that takes longer. Empty means no limit.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// BackupSpec is a backup to take.
type BackupSpec struct {
	BackupTemplate `json:",inline"`
	// Cancel stops the run when set; the Backup ends Failed, and nothing
	// is published.
	// +optional
	Cancel bool `json:"cancel,omitempty"`
}

// BackupStatus is what became of a Backup.
type BackupStatus struct {
	RunStatus `json:",inline"`
	// Location is the BackupLocation the backup went to.
	// +optional
	Location string `json:"location,omitempty"`
	// Expiration is when the TTL runs out.
	// +optional
	Expiration *metav1.Time `json:"expiration,omitempty"`
	// UID is the id of the published backup, from its manifest.
	// +optional
	UID string `json:"uid,omitempty"`
	// ResourceVersion is the cluster revision the backup was read at.
	// +optional
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// Backup is one backup of API objects into a backup location.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=cairn
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Done",type=integer,JSONPath=`.status.progress.itemsDone`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.progress.itemsTotal`
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.progress.objects`
// +kubebuilder:printcolumn:name="Errors",type=integer,JSONPath=`.status.errors`
// +kubebuilder:printcolumn:name="Location",type=string,JSONPath=`.status.location`
// +kubebuilder:printcolumn:name="Started",type=date,JSONPath=`.status.startTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Backup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupSpec   `json:"spec,omitempty"`
	Status BackupStatus `json:"status,omitempty"`
}

// BackupList is a list of Backups.
//
// +kubebuilder:object:root=true
type BackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Backup `json:"items"`
}
