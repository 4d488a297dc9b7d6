// Package controlplane runs a real Kubernetes control plane on loopback for
// cairn's tests and demo: etcd, kube-apiserver and kube-controller-manager,
// built from pinned sources (see test/k8sbin) and started as child processes
// in a temporary folder. There is no scheduler and no kubelet: Pods are
// created by their controllers and stay Pending, which is all a backup tool
// needs to see.
package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options tune a control plane.
type Options struct {
	// Dir holds data, keys, logs and the kubeconfig. Empty means a new
	// temporary folder, removed by Stop.
	Dir string
	// Detach starts the processes in their own session so that they outlive
	// the calling process; Stop, or StopDir from another process, ends them.
	Detach bool
	// Logf receives progress messages. Nil discards them.
	Logf func(format string, args ...any)
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Host       string
	// EtcdURL is the client URL of etcd, for tests that act on storage
	// directly, such as compacting it.
	EtcdURL string

	procs   []*process
	ownsDir bool
}

const readyTimeout = 2 * time.Minute

// Start builds missing binaries, then starts etcd, kube-apiserver and
// kube-controller-manager and waits until the API answers and the
// controllers have created the default ServiceAccount. On error every
// process already started is stopped.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bins, err := EnsureBinaries(ctx)
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{Dir: opts.Dir}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "cairn-controlplane-"); err != nil {
			return nil, err
		}
		cp.ownsDir = true
	} else if err := os.MkdirAll(cp.Dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
			cp = nil
		}
	}()

	keys, err := writePKI(cp.Dir)
	if err != nil {
		return cp, fmt.Errorf("generate keys: %w", err)
	}
	token, err := randomToken()
	if err != nil {
		return cp, err
	}
	tokenFile := filepath.Join(cp.Dir, "tokens.csv")
	line := token + ",cairn-admin,cairn-admin,system:masters\n"
	if err := os.WriteFile(tokenFile, []byte(line), 0o600); err != nil {
		return cp, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return cp, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	cp.EtcdURL = etcdURL
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	cp.Host = "https://127.0.0.1:" + strconv.Itoa(ports[2])

	cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, cp.Host, keys.caPEM, token); err != nil {
		return cp, err
	}
	cp.Config = &rest.Config{
		Host:            cp.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: keys.caPEM},
		// Tests create fixtures in bulk; the server, not the client, should
		// set the pace.
		QPS:   2000,
		Burst: 4000,
	}

	logf("starting etcd on %s", etcdURL)
	if err := cp.start(bins, "etcd", opts.Detach,
		"--name=default",
		"--data-dir="+filepath.Join(cp.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync",
		"--quota-backend-bytes=8589934592",
		"--log-level=warn",
	); err != nil {
		return cp, err
	}

	logf("starting kube-apiserver on %s", cp.Host)
	if err := cp.start(bins, "kube-apiserver", opts.Detach,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		"--cert-dir="+filepath.Join(cp.Dir, "apiserver-certs"),
		"--tls-cert-file="+keys.serverCert,
		"--tls-private-key-file="+keys.serverKey,
		"--client-ca-file="+keys.caCert,
		"--token-auth-file="+tokenFile,
		"--service-account-key-file="+keys.saPub,
		"--service-account-signing-key-file="+keys.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--endpoint-reconciler-type=none",
		"--max-requests-inflight=1000",
		// ConfigMaps bypass the watch cache and are read from etcd, so that
		// tests see what a compaction of etcd does to reads at an old
		// revision; every other type is served from the cache, as usual.
		"--watch-cache-sizes=configmaps#0",
		"--max-mutating-requests-inflight=500",
	); err != nil {
		return cp, err
	}
	if err := cp.waitReady(ctx, logf); err != nil {
		return cp, err
	}

	logf("starting kube-controller-manager")
	if err := cp.start(bins, "kube-controller-manager", opts.Detach,
		"--kubeconfig="+cp.Kubeconfig,
		"--controllers=*",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[3]),
		"--cert-dir="+filepath.Join(cp.Dir, "kcm-certs"),
		"--service-account-private-key-file="+keys.saKey,
		"--root-ca-file="+keys.caCert,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	); err != nil {
		return cp, err
	}
	if err := cp.waitControllers(ctx); err != nil {
		return cp, err
	}
	logf("control plane ready; kubeconfig: %s", cp.Kubeconfig)
	return cp, nil
}

// Stop ends every process the control plane started, in reverse order, and
// removes its folder when Start created it.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.procs) - 1; i >= 0; i-- {
		errs = append(errs, cp.procs[i].stop())
	}
	cp.procs = nil
	if cp.ownsDir {
		errs = append(errs, os.RemoveAll(cp.Dir))
	}
	return errors.Join(errs...)
}

func (cp *ControlPlane) waitReady(ctx context.Context, logf func(string, ...any)) error {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if err := cp.checkExited(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cp.Host+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+cp.Config.BearerToken)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	logf("kube-apiserver log: %s", cp.logPath("kube-apiserver"))
	return fmt.Errorf("kube-apiserver not ready after %s: %w", readyTimeout, last)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeKubeconfig(path, host string, ca []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cairn-local"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: ca}
	cfg.AuthInfos["cairn-admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["cairn-local"] = &clientcmdapi.Context{Cluster: "cairn-local", AuthInfo: "cairn-admin"}
	cfg.CurrentContext = "cairn-local"
	return clientcmd.WriteToFile(*cfg, path)
}
