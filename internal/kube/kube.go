// Package kube applies a compiled campaign to a Kubernetes cluster with
// server-side apply (field manager "llmsweep"), compares it with the live
// objects through a server-side dry run, prunes what the campaign no longer
// generates, and follows its Workflows' progress.
package kube

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says which cluster to talk to. Empty fields follow kubectl: the
// kubeconfig from $KUBECONFIG or ~/.kube/config, its current context, or the
// in-cluster service account.
type Config struct {
	Kubeconfig string
	Context    string
}

// Client talks to one API server.
type Client struct {
	Dynamic dynamic.Interface
	Mapper  meta.ResettableRESTMapper
	// Host is the API server's address, for messages.
	Host string
}

// RESTConfig resolves cfg the way kubectl does.
func RESTConfig(cfg Config) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		if _, err := os.Stat(cfg.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s cannot be read (%v): pass --kubeconfig with the path of an existing kubeconfig file", cfg.Kubeconfig, errors.Unwrap(err))
		}
		rules.ExplicitPath = cfg.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Context})
	rc, err := cc.ClientConfig()
	switch {
	case clientcmd.IsEmptyConfig(err):
		return nil, errors.New("no kubeconfig found ($KUBECONFIG and ~/.kube/config are absent, and this is not a pod in a cluster): pass --kubeconfig FILE or set KUBECONFIG to the cluster's kubeconfig")
	case err != nil && cfg.Context != "" && strings.Contains(err.Error(), fmt.Sprintf("context %q does not exist", cfg.Context)):
		return nil, fmt.Errorf("the kubeconfig has no context %q: pass a --context that `kubectl config get-contexts` lists", cfg.Context)
	case err != nil:
		return nil, fmt.Errorf("kubeconfig: %v: fix the kubeconfig or pass another with --kubeconfig", err)
	}
	return rc, nil
}

// Connect makes a client from a REST config. It does not contact the server;
// the first request does.
func Connect(rc *rest.Config) (*Client, error) {
	rc = rest.CopyConfig(rc)
	if rc.Timeout == 0 {
		rc.Timeout = time.Minute
	}
	// Prune and status list whole kinds; the defaults (5 qps) would stall them.
	rc.QPS, rc.Burst = 50, 100
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %v", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %v", err)
	}
	return &Client{
		Dynamic: dyn,
		Mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		Host:    rc.Host,
	}, nil
}

// ErrArgoCRDs is returned when the cluster has no Argo Workflows CRDs.
var ErrArgoCRDs = errors.New("the Argo Workflows CRDs are not installed in this cluster: install Argo Workflows (or only its CRDs: kubectl apply --server-side -k 'https://github.com/argoproj/argo-workflows/manifests/base/crds/full?ref=v3.7.4'), then run llmsweep again")

// explain turns a client error into one that says what to do; what is the
// object or action that failed.
func (c *Client) explain(what string, err error) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	switch {
	case unreachable(err):
		return &UnreachableError{Host: c.Host, Err: err}
	case apierrors.IsConflict(err) && strings.Contains(err.Error(), "conflict"):
		return fmt.Errorf("%s: %v\nanother field manager owns these fields; pass --force-conflicts to take them over, or change them with that manager", what, msg(err))
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: the API server refused: %v\nthe kubeconfig's identity needs RBAC permission for this; ask a cluster admin for a Role that grants it, or use another --context", what, msg(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: the API server does not accept the kubeconfig's credentials (%v): renew them, or pick another --context", what, msg(err))
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return fmt.Errorf("%s: the API server rejected it: %v", what, msg(err))
	case errors.As(err, &status):
		return fmt.Errorf("%s: the API server rejected it: %v", what, msg(err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func msg(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// UnreachableError says the API server could not be reached.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Kubernetes API server at %s (%v): check that the cluster is running and that the kubeconfig or --context points at it, then run again (apply is idempotent)", e.Host, cause(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// cause is the innermost network error, without client-go's URL prefix.
func cause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func unreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var ue *url.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH),
		// The server went away in the middle of a response.
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &op), errors.As(err, &dns):
		return true
	case errors.As(err, &ue) && (ue.Timeout() || strings.Contains(ue.Error(), "EOF")):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "connection reset") || strings.Contains(s, "no such host")
}
