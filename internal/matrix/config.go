// Package matrix expands a campaign into configs: it walks the product of the
// selected dimensions in a fixed order, prunes the configs that cannot run (with a
// reason for each), fingerprints the rest and cuts them into batches that share a
// server launch.
package matrix

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// Config is one fully resolved benchmark: a server launch plus one load point of
// one workload. Its fingerprint is the sha256 of its canonical JSON without the
// Fingerprint and Batch fields (DESIGN 3), so it changes exactly when something
// that affects the measurement changes.
type Config struct {
	Fingerprint string `json:"fingerprint"`
	Batch       string `json:"batch"`

	Model        string `json:"model"`
	Repo         string `json:"repo"` // the checkpoint served: the model's, or a pre-quantized one
	Revision     string `json:"revision"`
	Hardware     string `json:"hardware"`
	GPU          string `json:"gpu"`
	GPUs         int    `json:"gpus"`
	Framework    string `json:"framework"`
	Version      string `json:"version"`
	Image        string `json:"image"`
	Quantization string `json:"quantization"`
	TP           int    `json:"tp"`
	// ServerDigest identifies the launch arguments and environment of the server.
	ServerDigest string `json:"server_digest"`
	Workload     string `json:"workload"`
	// WorkloadDigest identifies the workload's definition: editing a workload
	// changes the fingerprints of the configs that use it.
	WorkloadDigest string `json:"workload_digest"`
	// Concurrency is set for closed-loop workloads, RequestRate for open-loop ones.
	Concurrency int     `json:"concurrency,omitempty"`
	RequestRate float64 `json:"request_rate,omitempty"`
	// InputTokens and OutputTokens are set when the grid fixes sequence lengths;
	// otherwise the workload's distributions apply.
	InputTokens  int `json:"input_tokens,omitempty"`
	OutputTokens int `json:"output_tokens,omitempty"`
	MaxModelLen  int `json:"max_model_len"`
}

// appendJSON appends the canonical JSON of c. It writes exactly what encoding/json
// would (a test holds it to that), without reflection: compile encodes every config
// twice, once to fingerprint it and once to write it.
func (c *Config) appendJSON(b []byte, withID bool) []byte {
	b = append(b, '{')
	if withID {
		b = appendStr(b, "fingerprint", c.Fingerprint, false)
		b = appendStr(b, "batch", c.Batch, true)
		b = append(b, ',')
	}
	b = c.appendServer(b)
	b = c.appendWorkload(b)
	b = c.appendLoad(b)
	return append(b, '}')
}

// The identity is encoded in three parts, so that expansion can encode the parts a
// group or a workload shares once: the server (no leading comma), the workload,
// and the load point.

func (c *Config) appendServer(b []byte) []byte {
	b = appendStr(b, "model", c.Model, false)
	b = appendStr(b, "repo", c.Repo, true)
	b = appendStr(b, "revision", c.Revision, true)
	b = appendStr(b, "hardware", c.Hardware, true)
	b = appendStr(b, "gpu", c.GPU, true)
	b = appendInt(b, "gpus", c.GPUs)
	b = appendStr(b, "framework", c.Framework, true)
	b = appendStr(b, "version", c.Version, true)
	b = appendStr(b, "image", c.Image, true)
	b = appendStr(b, "quantization", c.Quantization, true)
	b = appendInt(b, "tp", c.TP)
	return appendStr(b, "server_digest", c.ServerDigest, true)
}

func (c *Config) appendWorkload(b []byte) []byte {
	b = appendStr(b, "workload", c.Workload, true)
	return appendStr(b, "workload_digest", c.WorkloadDigest, true)
}

func (c *Config) appendLoad(b []byte) []byte {
	if c.Concurrency != 0 {
		b = appendInt(b, "concurrency", c.Concurrency)
	}
	if c.RequestRate != 0 {
		b = append(b, `,"request_rate":`...)
		b = appendFloat(b, c.RequestRate)
	}
	if c.InputTokens != 0 {
		b = appendInt(b, "input_tokens", c.InputTokens)
	}
	if c.OutputTokens != 0 {
		b = appendInt(b, "output_tokens", c.OutputTokens)
	}
	return appendInt(b, "max_model_len", c.MaxModelLen)
}

// JSON returns the config's line in matrix.jsonl.
func (c *Config) JSON() []byte { return c.appendJSON(nil, true) }

// fingerprint sets c.Fingerprint from the identity fields, appending their JSON
// to arena for appendLine to reuse. server and workload are c's already encoded
// parts (appendServer, appendWorkload).
func (c *Config) fingerprint(arena, server, workload []byte) []byte {
	start := len(arena)
	arena = append(arena, '{')
	arena = append(arena, server...)
	arena = append(arena, workload...)
	arena = c.appendLoad(arena)
	arena = append(arena, '}')
	sum := sha256.Sum256(arena[start:])
	c.Fingerprint = hex.EncodeToString(sum[:])
	return arena
}

// appendLine appends the matrix.jsonl line of a fingerprinted config from its
// encoded server and workload parts: the same bytes as JSON(), without encoding the
// shared fields again.
func (c *Config) appendLine(b, server, workload []byte) []byte {
	b = append(b, `{"fingerprint":"`...)
	b = append(b, c.Fingerprint...)
	b = append(b, `","batch":"`...)
	b = append(b, c.Batch...)
	b = append(b, `",`...)
	b = append(b, server...)
	b = append(b, workload...)
	b = c.appendLoad(b)
	return append(b, '}', '\n')
}

// appendStr appends ,"key":"value", escaping as encoding/json does. Catalog names
// and references are plain ASCII (the schema's patterns), which takes the fast path.
func appendStr(b []byte, key, val string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	for i := 0; i < len(val); i++ {
		if c := val[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(val)
			return append(b[:len(b)-1], q...)
		}
	}
	b = append(b, val...)
	return append(b, '"')
}

func appendInt(b []byte, key string, v int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return strconv.AppendInt(b, int64(v), 10)
}

// appendFloat formats like encoding/json for the magnitudes rates have.
func appendFloat(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// Load names a config's load point: "c=N" for a closed loop, "R/s" for an open one.
func Load(concurrency int, rate float64) string {
	if rate > 0 {
		return strconv.FormatFloat(rate, 'g', -1, 64) + "/s"
	}
	return "c=" + strconv.Itoa(concurrency)
}

// Label names a config for people:
// model/hardware/framework-version/quantization/workload/load.
func (c *Config) Label() string {
	fw := c.Framework
	if c.Version != "" {
		fw += "-" + c.Version
	}
	return c.Model + "/" + c.Hardware + "/" + fw + "/" + c.Quantization + "/" + c.Workload + "/" + Load(c.Concurrency, c.RequestRate)
}
