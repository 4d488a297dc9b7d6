package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupLocationSpec is where backups are kept and how they are protected.
type BackupLocationSpec struct {
	// URL is the location, as `cairn backup create --location` takes it: a
	// folder path, file:///path or a bucket URL.
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`
	// Encryption encrypts new backups and opens encrypted ones.
	// +optional
	Encryption *Encryption `json:"encryption,omitempty"`
	// ReadOnly refuses new backups and never deletes from the location;
	// a cluster that restores another cluster's backups uses it.
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
	// Default makes this the location of Backups that name none.
	// +optional
	Default bool `json:"default,omitempty"`
	// SyncPeriod is how often the location is listed for backups that have
	// no Backup resource; empty means the server's default.
	// +optional
	SyncPeriod *metav1.Duration `json:"syncPeriod,omitempty"`
}

// Encryption names the keys of a location. Backups are encrypted with age
// to the recipients; restores need the identity or the passphrase.
type Encryption struct {
	// Recipients are age public keys (age1...).
	// +optional
	Recipients []string `json:"recipients,omitempty"`
	// KeySecret is a Secret key holding age identities, as written by
	// `cairn key generate`, for restores.
	// +optional
	KeySecret *corev1.SecretKeySelector `json:"keySecret,omitempty"`
	// PassphraseSecret is a Secret key holding a passphrase, which both
	// encrypts and decrypts; it cannot be combined with recipients.
	// +optional
	PassphraseSecret *corev1.SecretKeySelector `json:"passphraseSecret,omitempty"`
}

// LocationPhase is whether a location can be used.
// +kubebuilder:validation:Enum=Available;Unavailable
type LocationPhase string

// The phases of a BackupLocation.
const (
	LocationAvailable   LocationPhase = "Available"
	LocationUnavailable LocationPhase = "Unavailable"
)

// BackupLocationStatus is what the server last saw of a location.
type BackupLocationStatus struct {
	// Phase is Available or Unavailable.
	// +optional
	Phase LocationPhase `json:"phase,omitempty"`
	// Message says why the location is Unavailable.
	// +optional
	Message string `json:"message,omitempty"`
	// LastSyncTime is when the location was last listed.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// Backups is the number of backups found at the last sync.
	// +optional
	Backups int `json:"backups,omitempty"`
	// Conditions are the latest observations of the location.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackupLocation is a place backups are written to or read from.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=cairn
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Default",type=boolean,JSONPath=`.spec.default`
// +kubebuilder:printcolumn:name="ReadOnly",type=boolean,JSONPath=`.spec.readOnly`
// +kubebuilder:printcolumn:name="Backups",type=integer,JSONPath=`.status.backups`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
type BackupLocation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupLocationSpec   `json:"spec,omitempty"`
	Status BackupLocationStatus `json:"status,omitempty"`
}

// BackupLocationList is a list of BackupLocations.
//
// +kubebuilder:object:root=true
type BackupLocationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupLocation `json:"items"`
}
