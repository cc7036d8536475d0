package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/llmsweep/llmsweep/internal/matrix"
)

// idPrefix is how Config.JSON starts when fingerprint and batch are empty; the
// canonical JSON that fingerprints hash is the rest (matrix.Config).
const idPrefix = `{"fingerprint":"","batch":"",`

// fingerprinted returns c with the fingerprint compile would give it.
func fingerprinted(c matrix.Config) matrix.Config {
	batch := c.Batch
	c.Fingerprint, c.Batch = "", ""
	j := c.JSON()
	sum := sha256.Sum256(append([]byte{'{'}, j[len(idPrefix):]...))
	c.Fingerprint, c.Batch = hex.EncodeToString(sum[:]), batch
	return c
}

func jsonl(cs []matrix.Config) []byte {
	var b bytes.Buffer
	for i := range cs {
		b.Write(cs[i].JSON())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// server is what a batch shares (DESIGN 4).
type server struct {
	model, repo, hardware, gpu string
	gpus                       int
	framework, version, image  string
	quantization               string
}

// point is a benchmark point on a server.
type point struct {
	workload      string
	concurrency   int
	rate          float64
	input, output int
}

// build returns the fingerprinted configs of each server at each point, cut
// into batches of at most size per server, in matrix order.
func build(servers []server, points []point, size int) []matrix.Config {
	var out []matrix.Config
	for _, s := range servers {
		key := fmt.Sprintf("%s/%s/%s/%s/%s", s.model, s.hardware, s.framework, s.version, s.quantization)
		id := "b" + digest(key)[:10]
		// The launch arguments do not name the version; the image does.
		launch := digest(s.model, s.hardware, s.framework, s.quantization)[:16]
		for i, p := range points {
			c := matrix.Config{
				Batch: fmt.Sprintf("%s-%d", id, i/size),
				Model: s.model, Repo: s.repo, Revision: "main",
				Hardware: s.hardware, GPU: s.gpu, GPUs: s.gpus,
				Framework: s.framework, Version: s.version, Image: s.image,
				Quantization: s.quantization, TP: s.gpus,
				ServerDigest: launch,
				Workload:     p.workload, WorkloadDigest: digest(p.workload)[:16],
				Concurrency: p.concurrency, RequestRate: p.rate,
				InputTokens: p.input, OutputTokens: p.output,
				MaxModelLen: 8192,
			}
			out = append(out, fingerprinted(c))
		}
	}
	return out
}

func digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

var (
	h100 = server{hardware: "h100-sxm-x1", gpu: "H100-SXM5-80GB", gpus: 1}
	a100 = server{hardware: "a100-sxm-80gb-x1", gpu: "A100-SXM4-80GB", gpus: 1}
)

func (s server) with(model, repo string) server {
	s.model, s.repo = model, repo
	return s
}

func (s server) on(framework, version, quantization string) server {
	s.framework, s.version, s.quantization = framework, version, quantization
	switch framework {
	case "vllm":
		s.image = "vllm/vllm-openai:v" + version
	case "tgi":
		s.image = "ghcr.io/huggingface/text-generation-inference:" + version
	default:
		s.image = "example.com/" + framework + ":" + version
	}
	return s
}
