package argo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// dropNulls removes null members and the empty objects of emptyIsAbsent, as
// jsonToYAML does.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if m, ok := e.(map[string]any); e == nil || ok && len(m) == 0 && emptyIsAbsent[k] {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = dropNulls(e)
		}
	}
	return v
}

// roundTrip checks that sigs.k8s.io/yaml reads jsonToYAML's output back as the
// JSON it came from.
func roundTrip(t *testing.T, js []byte) {
	t.Helper()
	var y bytes.Buffer
	if err := jsonToYAML(&y, js); err != nil {
		t.Fatalf("jsonToYAML: %v\n%s", err, js)
	}
	back, err := yaml.YAMLToJSON(y.Bytes())
	if err != nil {
		t.Fatalf("not YAML: %v\n%s", err, y.String())
	}
	var want, got any
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dropNulls(want), got); diff != "" {
		t.Fatalf("YAML reads back differently (-json +yaml):\n%s\nyaml:\n%s", diff, y.String())
	}
}

func TestYAMLTrickyStrings(t *testing.T) {
	tricky := []string{"", "yes", "No", "TRUE", "null", "~", "1", "1.0", "0x1F", "1e3", "-", "- a", ": x", "a: b", "#c", "a #c",
		" lead", "trail ", "@x", "*x", "&x", "!x", "%x", "`x", "{x}", "[x]", ">x", "|x", "?x", "'q'", `"dq"`, "é", "\t",
		"line1\nline2", "line1\nline2\n", "line1\n\n", " x\ny", "a \nb", "cr\r\nlf", "tab\there\nx", "\u2028", "2024-01-01",
		"{{=sprig.int(retries) >= 3 ? 'on-demand' : 'spot'}}", "nvidia.com/gpu", "karpenter.sh/capacity-type", "v0.11.2", ".hidden", "_x"}
	obj := map[string]any{}
	for i, s := range tricky {
		obj[s+"k"] = s
		obj[string(rune('a'+i%26))+s] = []any{s, map[string]any{"k": s, "n": nil}, []any{s}, map[string]any{}, []any{}}
	}
	obj["inputs"] = map[string]any{}
	obj["emptyDir"] = map[string]any{}
	obj["nested"] = map[string]any{"list": []any{map[string]any{"a": 1, "b": map[string]any{"c": []any{true, false, nil, 1.5}}}}}
	js, _ := json.Marshal(obj)
	roundTrip(t, js)
}

func FuzzYAML(f *testing.F) {
	f.Add("a", "b\nc")
	f.Add("yes", " x")
	f.Fuzz(func(t *testing.T, k, v string) {
		// JSON turns invalid UTF-8 into U+FFFD, three bytes each.
		k, v = strings.ToValidUTF8(k, "\ufffd"), strings.ToValidUTF8(v, "\ufffd")
		if len(k) > maxKey || len(v) > maxKey || k == "" || v == "" {
			return // such keys are an error, tested below
		}
		js, err := json.Marshal(map[string]any{k: v, "l": []any{v, map[string]any{k: v}}, "m": map[string]any{v: k}})
		if err != nil {
			return
		}
		roundTrip(t, js)
	})
}

func TestYAMLBadKeys(t *testing.T) {
	for _, k := range []string{"", string(make([]byte, maxKey+1))} {
		js, _ := json.Marshal(map[string]string{k: "v"})
		var y bytes.Buffer
		if err := jsonToYAML(&y, js); err == nil {
			t.Fatalf("key of %d bytes was written", len(k))
		}
	}
}
