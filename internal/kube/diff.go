package kube

import (
	"context"
	"fmt"
	"io"

	"github.com/rogpeppe/go-internal/diff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ObjectDiff is the change an apply would make to one object, as a unified
// diff of the live object against the result of a server-side dry-run apply,
// both without server-set fields.
type ObjectDiff struct {
	Object  string `json:"object"`
	Action  Action `json:"action"`
	Unified string `json:"unified,omitempty"`
	// Note says why apply would fail as it stands: a field manager conflict.
	Note string `json:"note,omitempty"`
}

// Diff compares the campaign with the live objects the way `kubectl diff
// --server-side` does: each object is applied as a server-side dry run, so
// defaults, admission and the schema all take part. It returns the objects
// that would change, and those the campaign no longer generates (which
// apply --prune would delete).
func (c *Client) Diff(ctx context.Context, s *Set, opt Options) (changed []ObjectDiff, stale []Result, err error) {
	ns, objs, _, err := c.plan(ctx, s, opt)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, o := range objs {
		want[key(o.GroupVersionKind().GroupKind(), o.GetName())] = true
		ri, ok, err := c.resource(o)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			live, err = nil, nil
		}
		if err != nil {
			return nil, nil, c.explain("get "+describe(o), err)
		}
		var merged map[string]any
		var note string
		if live == nil && opt.Namespace == "" && o.GetNamespace() != "" && !c.namespaceExists(ctx, o.GetNamespace()) {
			// A dry run cannot create in a namespace that does not exist yet
			// (apply creates it first); compare with the object as generated.
			merged = Normalize(o)
		} else {
			after, err := c.ssa(ctx, ri, o, opt.Force, true)
			if apierrors.IsConflict(err) {
				// Show what apply --force-conflicts would do, and say that it needs the flag.
				note = "apply needs --force-conflicts: " + msg(err)
				after, err = c.ssa(ctx, ri, o, true, true)
			}
			if err != nil {
				return nil, nil, c.explain("dry-run apply "+describe(o), err)
			}
			merged = Normalize(after)
		}
		a, err := render(Normalize(live))
		if err != nil {
			return nil, nil, err
		}
		b, err := render(merged)
		if err != nil {
			return nil, nil, err
		}
		if string(a) == string(b) {
			continue
		}
		d := ObjectDiff{Object: describe(o), Action: Changed, Note: note}
		if live == nil {
			d.Action = Created
		}
		id := fmt.Sprintf("%s.%s.%s", o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName())
		d.Unified = string(diff.Diff("live/"+id, a, "merged/"+id, b))
		changed = append(changed, d)
	}
	old, err := c.stale(ctx, s.Campaign, ns, objs, want)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range old {
		stale = append(stale, Result{Object: describe(o), Action: Kept, Note: "no longer generated"})
	}
	return changed, stale, nil
}

func (c *Client) namespaceExists(ctx context.Context, ns string) bool {
	_, err := c.Dynamic.Resource(nsResource).Get(ctx, ns, metav1.GetOptions{})
	return !apierrors.IsNotFound(err)
}

func render(m map[string]any) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return yaml.Marshal(m)
}

// LiveDiff is one campaign's difference from the cluster: the objects that
// would change, and those it no longer generates (apply --prune deletes them).
type LiveDiff struct {
	Campaign string       `json:"campaign"`
	Changed  []ObjectDiff `json:"changed"`
	Stale    []Result     `json:"stale"`
}

// DiffAll diffs each set against the cluster, and counts the campaigns that differ.
func (c *Client) DiffAll(ctx context.Context, sets []*Set, opt Options) ([]LiveDiff, int, error) {
	var out []LiveDiff
	changed := 0
	for _, s := range sets {
		d, stale, err := c.Diff(ctx, s, opt)
		if err != nil {
			return nil, 0, fmt.Errorf("campaign %s: %w", s.Campaign, err)
		}
		if len(d) > 0 {
			changed++
		}
		out = append(out, LiveDiff{s.Campaign, d, stale})
	}
	return out, changed, nil
}

// WriteLiveDiffs writes the differences as unified diffs, as kubectl diff does,
// with a summary line.
func WriteLiveDiffs(w io.Writer, ds []LiveDiff) error {
	changed := 0
	for _, r := range ds {
		if len(r.Changed) > 0 {
			changed++
		}
		for _, d := range r.Changed {
			if d.Note != "" {
				fmt.Fprintf(w, "# %s: %s\n", d.Object, d.Note)
			}
			fmt.Fprint(w, d.Unified)
		}
		for _, st := range r.Stale {
			fmt.Fprintf(w, "# %s: %s (apply --prune deletes it)\n", r.Campaign, st)
		}
	}
	_, err := fmt.Fprintf(w, "%d of %d campaigns differ from the cluster\n", changed, len(ds))
	return err
}
