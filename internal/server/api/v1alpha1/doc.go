// Package v1alpha1 holds the resources cairn's server acts on, in the API
// group cairn.dev: Backup, Restore, Schedule and BackupLocation.
//
// They live in the server's namespace. A Backup or Restore is one run of
// the engine; its spec is fixed once the run starts, except spec.cancel.
// A Schedule creates Backups on a cron schedule and removes the old ones
// its retention rules no longer keep. A BackupLocation names where backups
// are kept; the server keeps one Backup resource for every backup
// published there, whoever wrote it.
//
// The CRDs in config/crd are generated from these types by controller-gen
// (make generate), as is zz_generated.deepcopy.go.
//
// +kubebuilder:object:generate=true
// +groupName=cairn.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of these resources.
var GroupVersion = schema.GroupVersion{Group: "cairn.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group and version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Backup{}, &BackupList{},
		&Restore{}, &RestoreList{},
		&Schedule{}, &ScheduleList{},
		&BackupLocation{}, &BackupLocationList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
