// Package scaffold writes the source tree of a new framework plugin: a Go module
// that builds llmsweep-plugin-<name> against the plugin SDK, with a launch
// function, a conformance test, a Makefile and a README. The tree builds, and
// passes the conformance kit, as written.
//
// The SDK is its own module (plugins/sdk) and is not published at a version, so
// the new module replaces it by a local copy, an llmsweep checkout's plugins/sdk:
// its go.mod requires what the SDK requires and its go.sum is the SDK's, so that
// go build needs neither go mod tidy nor the network beyond the module cache.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"text/template"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// SDKModule is the plugin SDK's module path.
const SDKModule = "github.com/llmsweep/llmsweep/plugins/sdk"

// Options say what to write where.
type Options struct {
	// Name is the plugin's name: the binary is llmsweep-plugin-<Name>, and the
	// name is what campaigns select as a framework.
	Name string
	// Dir is the folder to create; it must not exist or be empty.
	Dir string
	// Module is the new Go module's path; default llmsweep-plugin-<Name>.
	Module string
	// SDK is the folder of the SDK module (an llmsweep checkout's plugins/sdk).
	SDK string
}

// nameRE is what a plugin name may be (the conformance kit checks Info.name
// against the same pattern).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

//go:embed template
var templates embed.FS

// files maps each template to the file it becomes.
var files = map[string]string{
	"template/main.go.tmpl":             "main.go",
	"template/launch.go.tmpl":           "launch.go",
	"template/conformance_test.go.tmpl": "conformance_test.go",
	"template/Makefile.tmpl":            "Makefile",
	"template/README.md.tmpl":           "README.md",
	"template/gitignore.tmpl":           ".gitignore",
}

// data is what the templates see.
type data struct {
	Name, Binary, Module, Display string
}

// Write writes the plugin's tree and returns the files written, relative to
// opt.Dir, in a stable order.
func Write(opt Options) ([]string, error) {
	if !nameRE.MatchString(opt.Name) {
		return nil, fmt.Errorf("plugin name %q: use lower-case letters, digits and dashes, starting with a letter or digit", opt.Name)
	}
	if opt.Dir == "" {
		return nil, errors.New("no folder to write the plugin to")
	}
	if opt.Module == "" {
		opt.Module = "llmsweep-plugin-" + opt.Name
	}
	if err := module.CheckImportPath(opt.Module); err != nil {
		return nil, fmt.Errorf("module path %q: %v", opt.Module, err)
	}
	sdkMod, sdkSum, err := readSDK(opt.SDK)
	if err != nil {
		return nil, err
	}
	if err := emptyDir(opt.Dir); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	gomod, err := goMod(opt, sdkMod)
	if err != nil {
		return nil, err
	}
	out["go.mod"], out["go.sum"] = gomod, sdkSum
	d := data{Name: opt.Name, Binary: "llmsweep-plugin-" + opt.Name, Module: opt.Module, Display: opt.Name}
	for src, dst := range files {
		t, err := template.ParseFS(templates, src)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		out[dst] = b.Bytes()
	}
	var written []string
	for _, name := range sortedKeys(out) {
		if err := os.WriteFile(filepath.Join(opt.Dir, name), out[name], 0o644); err != nil {
			return written, err
		}
		written = append(written, name)
	}
	return written, nil
}

// readSDK reads the SDK module's go.mod and go.sum at dir, checking that it is
// the SDK.
func readSDK(dir string) (*modfile.File, []byte, error) {
	if dir == "" {
		return nil, nil, errors.New("no SDK folder: give the plugins/sdk folder of an llmsweep checkout (--sdk)")
	}
	gomod := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		return nil, nil, fmt.Errorf("the SDK folder %s: %w", dir, err)
	}
	f, err := modfile.ParseLax(gomod, b, nil)
	if err != nil {
		return nil, nil, err
	}
	if f.Module == nil || f.Module.Mod.Path != SDKModule {
		return nil, nil, fmt.Errorf("%s is not the plugin SDK's go.mod (module %s)", gomod, SDKModule)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return nil, nil, fmt.Errorf("the SDK folder %s: %w", dir, err)
	}
	return f, sum, nil
}

// goMod is the new module's go.mod: the SDK's Go version and requirements, the
// SDK itself, and a replace of the SDK by its folder.
func goMod(opt Options, sdk *modfile.File) ([]byte, error) {
	abs, err := filepath.Abs(opt.SDK)
	if err != nil {
		return nil, err
	}
	f := &modfile.File{}
	if err := f.AddModuleStmt(opt.Module); err != nil {
		return nil, err
	}
	if sdk.Go != nil {
		if err := f.AddGoStmt(sdk.Go.Version); err != nil {
			return nil, err
		}
	}
	f.AddNewRequire(SDKModule, "v0.0.0", false)
	for _, r := range sdk.Require {
		f.AddNewRequire(r.Mod.Path, r.Mod.Version, true)
	}
	f.SetRequireSeparateIndirect(f.Require)
	if err := f.AddReplace(SDKModule, "", abs, ""); err != nil {
		return nil, err
	}
	f.Cleanup()
	b, err := f.Format()
	if err != nil {
		return nil, err
	}
	header := "// The plugin SDK is replaced by a local copy: it is not published at a\n// version. Point the replace elsewhere to build against another checkout.\n"
	return append([]byte(header), b...), nil
}

// emptyDir creates dir, or accepts it if it exists and is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s exists and is not empty: give a new folder (--dir)", dir)
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// FindSDK returns the plugins/sdk folder of the first llmsweep checkout that
// holds one of dirs, looking upward from each, or "" when none is in one.
func FindSDK(dirs ...string) string {
	for _, dir := range dirs {
		dir, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		for {
			sdk := filepath.Join(dir, "plugins", "sdk")
			if b, err := os.ReadFile(filepath.Join(sdk, "go.mod")); err == nil && modfile.ModulePath(b) == SDKModule {
				return sdk
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}
