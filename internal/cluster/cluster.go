// Package cluster owns cairn's connection to a Kubernetes cluster: where the
// configuration comes from (kubeconfig, context), the clients built from it,
// and the client-side rate limits, which cairn raises above client-go's
// defaults because backup and restore are bulk work.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Defaults for the client rate limits. client-go's own (5 QPS, burst 10) would
// make a backup of 100k objects wait on the client rather than the server.
// These let a restore's workers create as fast as a small API server takes
// objects; the server's priority and fairness still protects it, and its
// 429 answers are retried.
const (
	DefaultQPS   = 1000
	DefaultBurst = 2000
)

// ErrUnreachable is returned when the cluster does not answer.
var ErrUnreachable = errors.New("cluster unreachable")

// ErrNoKubeconfig is returned when no kubeconfig file is where cairn was
// told to look, or, told nothing, where kubectl would look, and cairn does
// not run inside a cluster either.
var ErrNoKubeconfig = errors.New("kubeconfig not found")

// pointAtKubeconfig ends the messages of ErrNoKubeconfig.
const pointAtKubeconfig = "point --kubeconfig or $KUBECONFIG at a kubeconfig file"

// Options select a cluster and tune the clients built for it.
type Options struct {
	Kubeconfig string
	Context    string
	QPS        float32
	Burst      int
	Timeout    time.Duration
}

// AddFlags binds the options to a flag set, kubectl style.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "",
		"path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.Context, "context", "", "kubeconfig context to use")
	fs.Float32Var(&o.QPS, "qps", DefaultQPS, "client requests per second to the API server")
	fs.IntVar(&o.Burst, "burst", DefaultBurst, "client request burst to the API server")
}

// Validate refuses rate limits the flags should not take: RESTConfig reads
// a QPS or burst of 0 as the default, client-go a negative QPS as no limit
// at all, and a burst below 1 lets no request through, so none of them is
// what a user who typed it meant.
func (o *Options) Validate() error {
	if !(o.QPS > 0) || math.IsInf(float64(o.QPS), 1) {
		return fmt.Errorf("--qps %v: must be a number of requests per second above 0", o.QPS)
	}
	if o.Burst < 1 {
		return fmt.Errorf("--burst %d: must be a whole number of requests, at least 1", o.Burst)
	}
	return nil
}

// Cluster holds the clients of one connected cluster.
type Cluster struct {
	Config    *rest.Config
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	// Host is the API server URL, used to identify the cluster in records.
	Host string
}

// RESTConfig loads the client configuration the options point at.
func (o *Options) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, kubeconfigError(rules, err)
	}

	cfg.QPS = o.QPS
	cfg.Burst = o.Burst
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if o.Timeout > 0 {
		cfg.Timeout = o.Timeout
	}
	cfg.UserAgent = "cairn"
	cfg.WarningHandlerWithContext = debugWarnings{}
	return cfg, nil
}

// kubeconfigError says where no kubeconfig was found, when that is why
// loading the configuration failed. client-go ignores a missing file named
// by $KUBECONFIG or the default path, and then finds an empty
// configuration; only a missing --kubeconfig file is an error of its own.
func kubeconfigError(rules *clientcmd.ClientConfigLoadingRules, err error) error {
	env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
	switch {
	case rules.ExplicitPath != "" && errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: --kubeconfig %s: no such file; %s", ErrNoKubeconfig,
			rules.ExplicitPath, pointAtKubeconfig)
	case !clientcmd.IsEmptyConfig(err):
		return fmt.Errorf("load kubeconfig: %w", err)
	case env != "":
		return fmt.Errorf("%w: no kubeconfig at $%s (%s); %s", ErrNoKubeconfig,
			clientcmd.RecommendedConfigPathEnvVar, env, pointAtKubeconfig)
	}
	return fmt.Errorf("%w: no kubeconfig at %s, and not running inside a cluster; %s",
		ErrNoKubeconfig, strings.Join(rules.GetLoadingPrecedence(), ", "), pointAtKubeconfig)
}

// Connect builds the clients for the configured cluster without calling it.
func (o *Options) Connect() (*Cluster, error) {
	cfg, err := o.RESTConfig()
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// New builds the clients for a REST configuration.
func New(cfg *rest.Config) (*Cluster, error) {
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("build http client: %w", err)
	}
	return newWithHTTP(cfg, httpClient)
}

func newWithHTTP(cfg *rest.Config, httpClient *http.Client) (*Cluster, error) {
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("build dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("build discovery client: %w", err)
	}
	return &Cluster{Config: cfg, Dynamic: dyn, Discovery: disc, Host: cfg.Host}, nil
}

// ServerVersion asks the cluster for its Kubernetes version. It is also the
// cheapest way to learn whether the cluster answers at all.
func (c *Cluster) ServerVersion(ctx context.Context) (string, error) {
	body, err := c.Discovery.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, c.Host, err)
	}
	v, err := parseVersion(body)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.Host, err)
	}
	return v, nil
}

// debugWarnings logs the API server's warnings (deprecated types, mostly)
// at debug level: a backup reads every type, so they would drown its output.
type debugWarnings struct{}

func (debugWarnings) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, msg string) {
	if code == 299 {
		slog.DebugContext(ctx, "API server warning", "warning", msg)
	}
}
