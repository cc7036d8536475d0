package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Serve serves impl as a plugin and returns when the host is done with it. It is
// the only thing a plugin's main needs to call.
func Serve(impl Framework) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(impl),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           Logger(),
	})
}

// Logger is the plugin's logger. Its lines go to stderr as JSON, which the host
// parses and forwards into its own log with the plugin's name.
func Logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Info, JSONFormat: true})
}

// Client is a plugin process and the Framework it serves.
type Client struct {
	Framework
	Path string
	raw  *plugin.Client
}

// OpenOptions tune Open; the zero value is usable.
type OpenOptions struct {
	Logger       hclog.Logger         // where the plugin's log lines go (default: discarded)
	StartTimeout time.Duration        // default 10 s
	Secure       *plugin.SecureConfig // checksum pinning
	Stderr       io.Writer            // the plugin's raw stderr that is not log lines
	Env          []string             // extra environment for the plugin process
}

// Open starts the plugin binary at path and completes the handshake. The error
// says what went wrong in terms of this protocol: a binary that is not a plugin,
// or one that speaks other protocol versions.
func Open(path string, opt OpenOptions) (*Client, error) {
	if opt.Logger == nil {
		opt.Logger = hclog.NewNullLogger()
	}
	if opt.StartTimeout == 0 {
		opt.StartTimeout = 10 * time.Second
	}
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), opt.Env...)
	raw := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           opt.Logger,
		StartTimeout:     opt.StartTimeout,
		SecureConfig:     opt.Secure,
		Stderr:           opt.Stderr,
		AutoMTLS:         true,
	})
	rpc, err := raw.Client()
	if err != nil {
		raw.Kill()
		return nil, handshakeError(path, err)
	}
	v, err := rpc.Dispense(PluginName)
	if err != nil {
		raw.Kill()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	return &Client{Framework: v.(Framework), Path: path, raw: raw}, nil
}

func handshakeError(path string, err error) error {
	want := fmt.Sprintf("handshake %s=%s, protocol version %d over gRPC", Handshake.MagicCookieKey, Handshake.MagicCookieValue, ProtocolVersion)
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("plugin %s: its checksum does not match the lock file: rebuild it or update the lock (%v)", path, err)
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		return fmt.Errorf("plugin %s speaks another protocol version: this llmsweep expects %s (%v)", path, want, err)
	case strings.Contains(msg, "Unrecognized remote plugin message"), strings.Contains(msg, "exited before we could connect"),
		strings.Contains(msg, "timeout while waiting for plugin to start"), strings.Contains(strings.ToLower(msg), "incompatible core api version"):
		return fmt.Errorf("%s is not an llmsweep plugin, or not one this llmsweep can talk to: expected %s (%v)", path, want, err)
	}
	return fmt.Errorf("plugin %s: %w", path, err)
}

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.raw.Exited() }

// Pid is the plugin process's id.
func (c *Client) Pid() int {
	if rc := c.raw.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Close ends the plugin process: gracefully, then by force.
func (c *Client) Close() { c.raw.Kill() }

// Ping checks that the connection to the plugin is alive.
func (c *Client) Ping(ctx context.Context) error {
	rpc, err := c.raw.Client()
	if err != nil {
		return err
	}
	return rpc.Ping()
}
