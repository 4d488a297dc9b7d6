package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RestoreSpec is a restore to run.
type RestoreSpec struct {
	// Backup names the Backup to restore from.
	// +kubebuilder:validation:MinLength=1
	Backup string `json:"backup"`
	// IncludeNamespaces are namespace globs to restore; empty means all in
	// the backup.
	// +optional
	IncludeNamespaces []string `json:"includeNamespaces,omitempty"`
	// ExcludeNamespaces are namespace globs to leave out.
	// +optional
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
	// IncludeResources name resource types to restore; empty means all.
	// +optional
	IncludeResources []string `json:"includeResources,omitempty"`
	// ExcludeResources name resource types to leave out.
	// +optional
	ExcludeResources []string `json:"excludeResources,omitempty"`
	// Selector is a label selector objects must match.
	// +optional
	Selector string `json:"selector,omitempty"`
	// OrSelectors select objects matching any of them.
	// +optional
	OrSelectors []string `json:"orSelectors,omitempty"`
	// IncludeClusterResources decides on the cluster-scoped objects of the
	// backup: auto restores them all unless namespaces are selected, and
	// then only those the selected objects depend on.
	// +kubebuilder:validation:Enum=auto;"true";"false"
	// +kubebuilder:default=auto
	// +optional
	IncludeClusterResources string `json:"includeClusterResources,omitempty"`
	// NamespaceMappings restore the objects of a namespace into another,
	// keyed by the namespace in the backup.
	// +optional
	NamespaceMappings map[string]string `json:"namespaceMappings,omitempty"`
	// StorageClassMappings give PersistentVolumes and claims another
	// storage class, keyed by the class in the backup.
	// +optional
	StorageClassMappings map[string]string `json:"storageClassMappings,omitempty"`
	// ExistingResourcePolicy is what happens to an object that exists: none
	// leaves it and reports it skipped, update patches it to the backed-up
	// state where its fields can change.
	// +kubebuilder:validation:Enum=none;update
	// +kubebuilder:default=none
	// +optional
	ExistingResourcePolicy string `json:"existingResourcePolicy,omitempty"`
	// RestoreStatus names the resource types whose status is written back
	// too.
	// +optional
	RestoreStatus []string `json:"restoreStatus,omitempty"`
	// PreserveNodePorts keeps the node ports of Services instead of letting
	// the cluster pick new ones.
	// +optional
	PreserveNodePorts bool `json:"preserveNodePorts,omitempty"`
	// DryRun sends every write with dryRun=All: the run reports what would
	// happen and the cluster does not change.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// Timeout fails a run that takes longer. Empty means no limit.
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Cancel stops the run when set; objects already created stay.
	// +optional
	Cancel bool `json:"cancel,omitempty"`
}

// RestoreStatus is what became of a Restore.
type RestoreStatus struct {
	RunStatus `json:",inline"`
}

// Restore is one restore of a backup into this cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=cairn
// +kubebuilder:printcolumn:name="Backup",type=string,JSONPath=`.spec.backup`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.existingResourcePolicy`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Done",type=integer,JSONPath=`.status.progress.itemsDone`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.progress.itemsTotal`
// +kubebuilder:printcolumn:name="Errors",type=integer,JSONPath=`.status.errors`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Cluster",type=string,priority=1,JSONPath=`.spec.includeClusterResources`
// +kubebuilder:printcolumn:name="Dry-Run",type=boolean,priority=1,JSONPath=`.spec.dryRun`
type Restore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RestoreSpec   `json:"spec,omitempty"`
	Status RestoreStatus `json:"status,omitempty"`
}

// RestoreList is a list of Restores.
//
// +kubebuilder:object:root=true
type RestoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Restore `json:"items"`
}
