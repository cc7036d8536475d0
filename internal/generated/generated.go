// Package generated writes and reads the compiled output folder of a campaign,
// generated/<campaign>/. Writes are atomic: a folder is replaced whole or not at
// all. Each folder records the checksum of every file it holds, so that a hand
// edit is reported instead of silently overwritten.
package generated

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SumsFile lists "sha256  name" for every other file of the folder.
const SumsFile = "SUMS"

// ErrEdited is returned when a folder's files do not match its SUMS.
var ErrEdited = errors.New("edited by hand")

// Write replaces dir with exactly files. It writes a sibling temporary folder and
// renames it into place, so a failure leaves dir as it was and no partial files.
func Write(dir string, files map[string][]byte) (err error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("cannot write into %s: %w", parent, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var sums strings.Builder
	for _, name := range names {
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writeFile(path, files[name]); err != nil {
			return err
		}
		sum := sha256.Sum256(files[name])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	if err := writeFile(filepath.Join(tmp, SumsFile), []byte(sums.String())); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("cannot replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("cannot replace %s: %w", dir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

func writeFile(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Read returns the files of a generated folder, checked against its SUMS. A
// missing folder returns nil files and no error. When a file differs from its
// recorded checksum, or is missing or extra, the error wraps ErrEdited and names
// the files; the files are returned all the same.
func Read(dir string) (map[string][]byte, error) {
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w: its %s file is missing", dir, ErrEdited, SumsFile)
	}
	if err != nil {
		return nil, err
	}
	want := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, fmt.Errorf("%s: %w: malformed line in %s: %q", dir, ErrEdited, SumsFile, sc.Text())
		}
		want[name] = sum
	}
	files := map[string][]byte{}
	var edited []string
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, _ := filepath.Rel(dir, path)
		name = filepath.ToSlash(name)
		if name == SumsFile {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[name] = b
		sum := sha256.Sum256(b)
		if want[name] != hex.EncodeToString(sum[:]) {
			edited = append(edited, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name := range want {
		if _, ok := files[name]; !ok {
			edited = append(edited, name+" (deleted)")
		}
	}
	if len(edited) > 0 {
		sort.Strings(edited)
		return files, fmt.Errorf("%s: %w: %s", dir, ErrEdited, strings.Join(edited, ", "))
	}
	return files, nil
}
