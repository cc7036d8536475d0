package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmsweep/llmsweep/internal/plugins"
	"github.com/llmsweep/llmsweep/internal/scaffold"
)

func newPlugins() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List, inspect and pin framework plugins",
		Long: "Framework plugins are binaries named " + plugins.Prefix + "<name>, found in ./bin, the\n" +
			"directories of $LLMSWEEP_PLUGIN_PATH, then $XDG_DATA_HOME/llmsweep/plugins.\n" +
			"With a lock file (--lock or $LLMSWEEP_PLUGIN_LOCK), each binary must match its pinned sha256.",
	}
	var lock string
	cmd.PersistentFlags().StringVar(&lock, "lock", os.Getenv("LLMSWEEP_PLUGIN_LOCK"), "a sha256sum-format `file` pinning plugin checksums")
	host := func(stderr io.Writer) (*plugins.Host, error) {
		h := &plugins.Host{Dirs: plugins.Dirs(), StartTimeout: 10 * time.Second,
			Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: stderr, Level: hclog.Warn})}
		if lock != "" {
			l, err := plugins.ReadLock(lock)
			if err != nil {
				return nil, err
			}
			h.Lock = l
		}
		return h, nil
	}

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "Start each plugin found and show its name, version and protocols",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := host(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			found := plugins.Discover(h.Dirs)
			if len(found) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no plugins found in %s\n", strings.Join(h.Dirs, ", "))
				return exitError{exitFail}
			}
			type row struct {
				Name      string   `json:"name"`
				Version   string   `json:"version,omitempty"`
				Protocols []string `json:"protocols,omitempty"`
				Versions  []string `json:"framework_versions,omitempty"`
				Path      string   `json:"path"`
				Error     string   `json:"error,omitempty"`
			}
			var rows []row
			failed := false
			for _, f := range found {
				r := row{Name: f.Name, Path: f.Path}
				p, err := h.OpenFound(f)
				if err == nil {
					info, ierr := p.Info(context.Background())
					p.Close()
					err = ierr
					if err == nil {
						r.Version, r.Protocols = info.GetVersion(), info.GetProtocols()
						for _, v := range info.GetVersions() {
							r.Versions = append(r.Versions, v.GetVersion())
						}
					}
				}
				if err != nil {
					r.Error, failed = err.Error(), true
				}
				rows = append(rows, r)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rows); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOLS\tFRAMEWORK VERSIONS\tPATH")
				for _, r := range rows {
					if r.Error != "" {
						fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\n", r.Name, r.Path)
						continue
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Version, strings.Join(r.Protocols, ","), dash(strings.Join(r.Versions, ",")), r.Path)
				}
				tw.Flush()
				for _, r := range rows {
					if r.Error != "" {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", r.Name, r.Error)
					}
				}
			}
			if failed {
				return exitError{exitFail}
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "write JSON")

	info := &cobra.Command{
		Use:   "info <name>",
		Short: "Show everything a plugin says about itself, as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := host(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			p, err := h.Open(args[0])
			if err != nil {
				return err
			}
			defer p.Close()
			i, err := p.Info(context.Background())
			if err != nil {
				return err
			}
			b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(i)
			if err != nil {
				return err
			}
			// protojson varies its spacing on purpose; indent it stably.
			var out bytes.Buffer
			if err := json.Indent(&out, b, "", "  "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err = out.WriteTo(cmd.OutOrStdout())
			return err
		},
	}

	lockCmd := &cobra.Command{
		Use:   "lock",
		Short: "Write a lock file pinning the sha256 of every plugin found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			found := plugins.Discover(plugins.Dirs())
			if lock == "" {
				return plugins.WriteLock(cmd.OutOrStdout(), found)
			}
			f, err := os.Create(lock)
			if err != nil {
				return err
			}
			if err := plugins.WriteLock(f, found); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.AddCommand(list, info, lockCmd, newPluginsNew())
	return cmd
}

func newPluginsNew() *cobra.Command {
	var opt scaffold.Options
	cmd := &cobra.Command{
		Use:   "new <name>",
		Short: "Write a new framework plugin: its own Go module, which builds and passes the conformance kit as written",
		Long: "Writes main.go, a launch function, a conformance test, a Makefile and a README into --dir\n" +
			"(default ./" + plugins.Prefix + "<name>). The module replaces the plugin SDK by --sdk, by default\n" +
			"the plugins/sdk folder of the llmsweep checkout that holds the working directory or this binary.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Name = args[0]
			if opt.Dir == "" {
				opt.Dir = plugins.Prefix + opt.Name
			}
			if opt.SDK == "" {
				exe, _ := os.Executable()
				opt.SDK = scaffold.FindSDK(".", filepath.Dir(exe))
			}
			files, err := scaffold.Write(opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s (the SDK from %s):\n", opt.Dir, opt.SDK)
			for _, f := range files {
				fmt.Fprintf(out, "  %s\n", f)
			}
			fmt.Fprintf(out, "next: cd %s && make test && make build && LLMSWEEP_PLUGIN_PATH=$PWD/bin llmsweep plugins list\n", opt.Dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&opt.Dir, "dir", "", "the `folder` to write (it must not exist, or be empty)")
	cmd.Flags().StringVar(&opt.Module, "module", "", "the new Go module's `path` (default "+plugins.Prefix+"<name>)")
	cmd.Flags().StringVar(&opt.SDK, "sdk", "", "the plugin SDK's `folder`, an llmsweep checkout's plugins/sdk")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
