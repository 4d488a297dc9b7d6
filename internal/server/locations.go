package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cairn-backup/cairn/internal/crypt"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/server/api/v1alpha1"
)

// errInvalid marks a spec the server refuses: the resource ends
// FailedValidation rather than Failed.
var errInvalid = errors.New("invalid")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// reason is the message of an error as a status shows it, without the
// errInvalid prefix.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), errInvalid.Error()+": ")
}

// resolveLocation finds the BackupLocation a resource names, or the
// default one when it names none.
func (d *deps) resolveLocation(ctx context.Context, name string) (*v1alpha1.BackupLocation, error) {
	if name != "" {
		var bl v1alpha1.BackupLocation
		err := d.client.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: name}, &bl)
		if apierrors.IsNotFound(err) {
			return nil, invalidf("BackupLocation %s/%s does not exist", d.ns, name)
		}
		if err != nil {
			return nil, err
		}
		return &bl, nil
	}
	var list v1alpha1.BackupLocationList
	if err := d.client.List(ctx, &list, client.InNamespace(d.ns)); err != nil {
		return nil, err
	}
	var defaults []*v1alpha1.BackupLocation
	for i := range list.Items {
		if list.Items[i].Spec.Default {
			defaults = append(defaults, &list.Items[i])
		}
	}
	switch len(defaults) {
	case 0:
		return nil, invalidf("no location given and no BackupLocation in %s is the default", d.ns)
	case 1:
		return defaults[0], nil
	}
	return nil, invalidf("no location given and %d BackupLocations in %s are the default",
		len(defaults), d.ns)
}

// openLocation opens the store of a BackupLocation.
func (d *deps) openLocation(ctx context.Context,
	bl *v1alpha1.BackupLocation) (*location.Location, error) {
	loc, err := location.Open(ctx, bl.Spec.URL)
	if err != nil {
		return nil, fmt.Errorf("BackupLocation %s: %w", bl.Name, err)
	}
	return loc, nil
}

// keys loads the encryption keys of a location from its spec and Secrets.
func (d *deps) keys(ctx context.Context, bl *v1alpha1.BackupLocation) (crypt.Keys, error) {
	enc := bl.Spec.Encryption
	if enc == nil {
		return crypt.Keys{}, nil
	}
	src := crypt.Sources{Recipients: enc.Recipients}
	if enc.PassphraseSecret != nil {
		p, err := d.secretKey(ctx, enc.PassphraseSecret)
		if err != nil {
			return crypt.Keys{}, err
		}
		src.Passphrase = strings.TrimRight(string(p), "\r\n")
	}
	keys, err := src.Load()
	if err != nil {
		return crypt.Keys{}, invalidf("BackupLocation %s encryption: %v", bl.Name, err)
	}
	if enc.KeySecret != nil {
		data, err := d.secretKey(ctx, enc.KeySecret)
		if err != nil {
			return crypt.Keys{}, err
		}
		ids, err := age.ParseIdentities(strings.NewReader(string(data)))
		if err != nil {
			return crypt.Keys{}, invalidf("BackupLocation %s key Secret %s: %v",
				bl.Name, enc.KeySecret.Name, err)
		}
		keys.Identities = append(keys.Identities, ids...)
	}
	return keys, nil
}

// secretKey reads one key of a Secret in the server's namespace, from the
// API server rather than a cache of every Secret.
func (d *deps) secretKey(ctx context.Context, sel *corev1.SecretKeySelector) ([]byte, error) {
	var s corev1.Secret
	err := d.reader.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: sel.Name}, &s)
	if apierrors.IsNotFound(err) {
		return nil, invalidf("Secret %s/%s does not exist", d.ns, sel.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("read Secret %s/%s: %w", d.ns, sel.Name, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		return nil, invalidf("Secret %s/%s has no key %q", d.ns, sel.Name, sel.Key)
	}
	return v, nil
}
