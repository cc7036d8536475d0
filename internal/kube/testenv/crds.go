package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// ArgoCRDs returns the full Argo Workflows CRD files (with their OpenAPI
// schemas; the minimal ones accept anything) from the argo-workflows module
// that go.mod requires.
func ArgoCRDs() ([]string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-workflows/v3").Output()
	if err != nil {
		return nil, fmt.Errorf("go list the argo-workflows module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "manifests", "base", "crds", "full")
	files, err := filepath.Glob(filepath.Join(dir, "argoproj.io_*.yaml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no CRDs in %s", dir)
	}
	return files, err
}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs server-side applies the CRDs in files and waits until each is
// established.
func InstallCRDs(ctx context.Context, rc *rest.Config, files ...string) error {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			if m == nil {
				continue
			}
			u := unstructured.Unstructured{Object: m}
			body, err := json.Marshal(m)
			if err != nil {
				return err
			}
			force := true
			if _, err := dyn.Resource(crdResource).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "testenv", Force: &force}); err != nil {
				return fmt.Errorf("apply %s: %v", f, err)
			}
			names = append(names, u.GetName())
		}
	}
	for _, n := range names {
		if err := waitEstablished(ctx, dyn, n); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %v", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DeleteCRD deletes a CRD and waits until it is gone.
func DeleteCRD(ctx context.Context, rc *rest.Config, name string) error {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	if err := dyn.Resource(crdResource).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		if _, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not deleted: %v", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
