package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

	var listInv, infoInv, lockInv invocation
	list := &cobra.Command{
		Use:   "list",
		Short: "Start each plugin found and show its name, version and protocols",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := plugins.NewHost(logger(cmd), lock)
			if err != nil {
				return err
			}
			rows := h.List(context.Background())
			if len(rows) == 0 {
				fmt.Fprintf(diag(cmd, slog.LevelWarn), "no plugins found in %s\n", strings.Join(h.Dirs, ", "))
				return exitError{exitFail}
			}
			if listInv.output == "json" {
				err = writeJSON(cmd.OutOrStdout(), rows)
			} else {
				err = plugins.WriteListing(cmd.OutOrStdout(), diag(cmd, slog.LevelWarn), rows)
			}
			if err != nil {
				return err
			}
			failed := slices.ContainsFunc(rows, func(r plugins.Listed) bool { return r.Error != "" })
			if failed {
				return exitError{exitFail}
			}
			return nil
		},
	}
	listInv.addOutput(list, "table", "json")
	listInv.addJSONAlias(list)

	info := &cobra.Command{
		Use:   "info <name>",
		Short: "Show everything a plugin says about itself, as JSON (-o json, the only format)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := plugins.NewHost(logger(cmd), lock)
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
	// The plugin's own protocol message is JSON already; -o says so.
	infoInv.addOutput(info, "json")

	lockCmd := &cobra.Command{
		Use:   "lock",
		Short: "Write a lock file pinning the sha256 of every plugin found",
		Long: "lock writes the lock file (sha256sum's format) to --lock, else to stdout;\n" +
			"-o json writes the pins to stdout as JSON as well.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pins, err := plugins.Pins(plugins.Discover(plugins.Dirs()))
			if err != nil {
				return err
			}
			if lock != "" {
				f, err := os.Create(lock)
				if err != nil {
					return err
				}
				if err := plugins.WriteLock(f, pins); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			switch {
			case lockInv.output == "json":
				return writeJSON(cmd.OutOrStdout(), pins)
			case lock == "":
				return plugins.WriteLock(cmd.OutOrStdout(), pins)
			}
			return nil
		},
	}
	lockInv.addOutput(lockCmd, "text", "json")
	cmd.AddCommand(list, info, lockCmd, newPluginsNew())
	return cmd
}

func newPluginsNew() *cobra.Command {
	var inv invocation
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
			if inv.output == "json" {
				return writeJSON(out, scaffolded{Dir: opt.Dir, SDK: opt.SDK, Files: files})
			}
			fmt.Fprintf(out, "wrote %s (the SDK from %s):\n", opt.Dir, opt.SDK)
			for _, f := range files {
				fmt.Fprintf(out, "  %s\n", f)
			}
			fmt.Fprintf(out, "next: cd %s && make test && make build && LLMSWEEP_PLUGIN_PATH=$PWD/bin llmsweep plugins list\n", opt.Dir)
			return nil
		},
	}
	inv.addOutput(cmd, "table", "json")
	cmd.Flags().StringVar(&opt.Dir, "dir", "", "the `folder` to write (it must not exist, or be empty)")
	cmd.Flags().StringVar(&opt.Module, "module", "", "the new Go module's `path` (default "+plugins.Prefix+"<name>)")
	cmd.Flags().StringVar(&opt.SDK, "sdk", "", "the plugin SDK's `folder`, an llmsweep checkout's plugins/sdk")
	return cmd
}

// scaffolded is what plugins new wrote, for -o json.
type scaffolded struct {
	Dir   string   `json:"dir"`
	SDK   string   `json:"sdk"`
	Files []string `json:"files"`
}
