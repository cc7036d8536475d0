// Package testenv starts a real etcd and kube-apiserver on 127.0.0.1 for tests,
// with generated certificates and RBAC authorization, as controller-runtime's
// envtest does. The binaries come from tools/k8s/build.sh, which builds them
// from the Go module proxy into a cache.
package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// CacheKey is the folder tools/k8s/build.sh writes the binaries to, under
// the llmsweep cache; keep it in step with tools/k8s/go.mod.
const CacheKey = "k8s/v1.34.4-etcd3.6.4"

// Assets returns the folder that holds kube-apiserver and etcd:
// $LLMSWEEP_K8S_ASSETS, else $KUBEBUILDER_ASSETS, else build.sh's cache.
func Assets() (string, error) {
	dir := os.Getenv("LLMSWEEP_K8S_ASSETS")
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if dir == "" {
		cache := os.Getenv("LLMSWEEP_CACHE")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return "", err
				}
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "llmsweep")
		}
		dir = filepath.Join(cache, filepath.FromSlash(CacheKey))
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return dir, fmt.Errorf("no %s in %s: run tools/k8s/build.sh (make test-k8s does), or set LLMSWEEP_K8S_ASSETS", b, dir)
		}
	}
	return dir, nil
}

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// Host is the API server's URL.
	Host string
	// Admin is a REST config for a member of system:masters.
	Admin *rest.Config
	dir   string
	ca    *ca
	bin   string

	mu      sync.Mutex
	etcd    *exec.Cmd
	api     *exec.Cmd
	apiArgs []string
}

// Start starts etcd and kube-apiserver in a new folder under dir and waits
// until /readyz answers. Stop them with Stop.
func Start(dir string) (*Cluster, error) {
	bin, err := Assets()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if c.ca, err = newCA(); err != nil {
		return nil, err
	}
	srvCert, srvKey, err := c.ca.issue("kube-apiserver", nil, true)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(dir, map[string][]byte{"ca.crt": c.ca.certPEM, "apiserver.crt": srvCert, "apiserver.key": srvKey}); err != nil {
		return nil, err
	}
	if err := signingKey(filepath.Join(dir, "sa.key")); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c.etcd = exec.Command(filepath.Join(bin, "etcd"),
		"--name=testenv", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn")
	if err := c.spawn(c.etcd, "etcd.log"); err != nil {
		return nil, err
	}
	c.Host = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	f := func(name string) string { return filepath.Join(dir, name) }
	c.apiArgs = []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir=" + f("certs"),
		"--tls-cert-file=" + f("apiserver.crt"), "--tls-private-key-file=" + f("apiserver.key"),
		"--client-ca-file=" + f("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://127.0.0.1",
		"--service-account-key-file=" + f("sa.key"), "--service-account-signing-key-file=" + f("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// No controller manager runs, so nothing would make the tokens
		// ServiceAccount needs, nor lift the not-ready taint that
		// TaintNodesByCondition puts on every new node (kwok's nodes included).
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
		"--allow-privileged=true",
	}
	if c.Admin, err = c.User("admin", "system:masters"); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.StartAPIServer(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) spawn(cmd *exec.Cmd, logName string) error {
	log, err := os.OpenFile(filepath.Join(c.dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() { cmd.Wait(); log.Close() }()
	return nil
}

// StartAPIServer starts kube-apiserver (again, after StopAPIServer) on the
// same address and waits until it is ready.
func (c *Cluster) StartAPIServer() error {
	c.mu.Lock()
	c.api = exec.Command(filepath.Join(c.bin, "kube-apiserver"), c.apiArgs...)
	err := c.spawn(c.api, "kube-apiserver.log")
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.waitReady(2 * time.Minute)
}

// StopAPIServer stops kube-apiserver and waits until its port is closed;
// etcd keeps running.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	api := c.api
	c.api = nil
	c.mu.Unlock()
	if api == nil || api.Process == nil {
		return nil
	}
	api.Process.Kill()
	addr := strings.TrimPrefix(c.Host, "https://")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		conn.Close()
	}
	return fmt.Errorf("kube-apiserver still listens on %s", addr)
}

func (c *Cluster) waitReady(limit time.Duration) error {
	rc := rest.CopyConfig(c.Admin)
	rc.Timeout = 5 * time.Second
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.Host+"/readyz", nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, tail(body, 500))
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver was not ready after %s (%v); see %s", limit, last, filepath.Join(c.dir, "kube-apiserver.log"))
		case <-time.After(100 * time.Millisecond):
		}
		if c.exited() {
			log, _ := os.ReadFile(filepath.Join(c.dir, "kube-apiserver.log"))
			return fmt.Errorf("kube-apiserver exited: %s", tail(log, 2000))
		}
	}
}

func (c *Cluster) exited() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api != nil && c.api.ProcessState != nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Stop stops both servers.
func (c *Cluster) Stop() {
	c.StopAPIServer()
	if c.etcd != nil && c.etcd.Process != nil {
		c.etcd.Process.Kill()
	}
}

// User returns a REST config that authenticates as user, in groups, by a
// client certificate.
func (c *Cluster) User(user string, groups ...string) (*rest.Config, error) {
	cert, key, err := c.ca.issue(user, groups, false)
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: c.Host, TLSClientConfig: rest.TLSClientConfig{CAData: c.ca.certPEM, CertData: cert, KeyData: key}}, nil
}

// WriteKubeconfig writes a kubeconfig for rc with one context, named context,
// whose default namespace is namespace (may be empty).
func WriteKubeconfig(path, context, namespace string, rc *rest.Config) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testenv"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData}
	cfg.AuthInfos[context] = &clientcmdapi.AuthInfo{ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: context, Namespace: namespace}
	cfg.CurrentContext = context
	return clientcmd.WriteToFile(*cfg, path)
}

// Log returns the end of the API server's log, for failure messages.
func (c *Cluster) Log() string {
	f, err := os.Open(filepath.Join(c.dir, "kube-apiserver.log"))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return tail(b, 4000)
}
