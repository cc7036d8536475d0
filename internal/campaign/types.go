package campaign

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Go mirror of schema/*.cue. Values are decoded strictly from the exported JSON
// of a validated CUE value: a field the schema has and these structs lack fails the
// decode, so the two cannot drift apart silently.

import (
	"github.com/llmsweep/llmsweep/plugins/sdk/catalogsnap"
	"github.com/llmsweep/llmsweep/plugins/sdk/launch"
)

// Hardware is #Hardware.
type Hardware struct {
	Name         string            `json:"name"`
	GPU          GPU               `json:"gpu"`
	Count        int               `json:"count"`
	Interconnect Interconnect      `json:"interconnect"`
	Price        Price             `json:"price"`
	NodeLabels   map[string]string `json:"node_labels"`
	Source       string            `json:"source,omitempty"`
}

// GPU is #Hardware.gpu: one device.
type GPU struct {
	Model       string             `json:"model"`
	Vendor      string             `json:"vendor"`
	Arch        string             `json:"arch"`
	MemoryGiB   float64            `json:"memory_gib"`
	HBMTBps     float64            `json:"hbm_tbps"`
	DenseTFLOPS map[string]float64 `json:"dense_tflops"`
	TDPW        int                `json:"tdp_w,omitempty"`
}

// Interconnect is the GPU-to-GPU link.
type Interconnect struct {
	Kind string  `json:"kind"`
	GBps float64 `json:"gbps"`
}

// Price is the hourly price of a whole node shape.
type Price struct {
	SpotUSDHour     float64 `json:"spot_usd_hour"`
	OnDemandUSDHour float64 `json:"on_demand_usd_hour"`
	Source          string  `json:"source"`
}

// Framework is #Framework: the catalog entry that a catalog adapter embeds a
// snapshot of, so the compiler and the adapters decode one type.
type Framework = catalogsnap.Framework

// Image is a framework version's container images.
type Image = catalogsnap.Image

// Launcher is how a framework's server is started: the SDK's declarative
// launcher, which derives the command line (plugins/sdk/launch).
type Launcher = launch.Launcher

// Quantization is #Quantization.
type Quantization struct {
	Name           string `json:"name"`
	Method         string `json:"method"`
	WeightBits     int    `json:"weight_bits"`
	ActivationBits int    `json:"activation_bits"`
	KVBits         int    `json:"kv_bits"`
	Online         bool   `json:"online"`
	Requires       struct {
		Archs []string `json:"archs"`
	} `json:"requires"`
	Description string `json:"description,omitempty"`
}

// Distribution is #Distribution; Kind says which fields are set.
type Distribution struct {
	Kind   string  `json:"kind"`
	Value  int     `json:"value,omitempty"`
	Min    int     `json:"min,omitempty"`
	Max    int     `json:"max,omitempty"`
	Mean   float64 `json:"mean,omitempty"`
	Stddev float64 `json:"stddev,omitempty"`
	Sigma  float64 `json:"sigma,omitempty"`
}

// Arrival is #Arrival.
type Arrival struct {
	Kind       string  `json:"kind"`
	Burstiness float64 `json:"burstiness,omitempty"`
}

// OpenLoop reports whether requests are sent on a schedule rather than on completion.
func (a Arrival) OpenLoop() bool { return a.Kind != "closed" }

// SLO is #SLO; zero means unset.
type SLO struct {
	TTFTms float64 `json:"ttft_ms,omitempty"`
	TPOTms float64 `json:"tpot_ms,omitempty"`
	E2Ems  float64 `json:"e2e_ms,omitempty"`
}

// Workload is #Workload.
type Workload struct {
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	InputTokens  Distribution `json:"input_tokens"`
	OutputTokens Distribution `json:"output_tokens"`
	Arrival      Arrival      `json:"arrival"`
	Requests     int          `json:"requests,omitempty"`
	Duration     string       `json:"duration,omitempty"`
	Warmup       int          `json:"warmup"`
	SLO          SLO          `json:"slo"`
	Prompts      struct {
		Source string `json:"source"`
		Seed   int    `json:"seed"`
		Path   string `json:"path,omitempty"`
	} `json:"prompts"`
	Accuracy *Accuracy `json:"accuracy,omitempty"`
}

// Accuracy is #Accuracy.
type Accuracy struct {
	Task     string   `json:"task"`
	Samples  int      `json:"samples"`
	Shots    int      `json:"shots,omitempty"`
	Metric   string   `json:"metric,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
}

// Checkpoint is a set of weights on the Hugging Face Hub.
type Checkpoint struct {
	Repo     string `json:"repo"`
	Revision string `json:"revision"`
}

// Model is #Model.
type Model struct {
	Name   string `json:"name"`
	Family string `json:"family"`
	HF     struct {
		Checkpoint
		Gated bool `json:"gated"`
	} `json:"hf"`
	ParamsB          float64         `json:"params_b"`
	ActiveParamsB    float64         `json:"active_params_b"`
	Architecture     string          `json:"architecture"`
	Layers           int             `json:"layers"`
	HiddenSize       int             `json:"hidden_size"`
	IntermediateSize int             `json:"intermediate_size"`
	AttentionHeads   int             `json:"attention_heads"`
	KVHeads          int             `json:"kv_heads"`
	HeadDim          int             `json:"head_dim"`
	VocabSize        int             `json:"vocab_size"`
	MaxContext       int             `json:"max_context"`
	Dtype            string          `json:"dtype"`
	License          string          `json:"license"`
	MoE              *MoE            `json:"moe,omitempty"`
	MLA              *MLA            `json:"mla,omitempty"`
	LocalAttention   *LocalAttention `json:"local_attention,omitempty"`
	// NativeQuantization is the catalog quantization the main repository's
	// weights are stored in, when not 16-bit ("fp8", "mxfp4").
	NativeQuantization string                `json:"native_quantization,omitempty"`
	Checkpoints        map[string]Checkpoint `json:"checkpoints"`
}

// CheckpointFor is the weights that serve quantization q: a pre-quantized
// checkpoint, or the main repository when its weights are stored in q
// (NativeQuantization). ok is false when there is neither.
func (m *Model) CheckpointFor(q string) (ck Checkpoint, ok bool) {
	if ck, ok := m.Checkpoints[q]; ok {
		return ck, true
	}
	if m.NativeQuantization != "" && m.NativeQuantization == q {
		return m.HF.Checkpoint, true
	}
	return Checkpoint{}, false
}

// MoE is #Model.moe.
type MoE struct {
	Experts               int `json:"experts"`
	ExpertsPerToken       int `json:"experts_per_token"`
	SharedExperts         int `json:"shared_experts,omitempty"`
	DenseLayers           int `json:"dense_layers,omitempty"`
	DenseIntermediateSize int `json:"dense_intermediate_size,omitempty"`
}

// MLA is #Model.mla, multi-head latent attention.
type MLA struct {
	KVLoraRank    int `json:"kv_lora_rank"`
	QKRopeHeadDim int `json:"qk_rope_head_dim"`
	QKNopeHeadDim int `json:"qk_nope_head_dim"`
	VHeadDim      int `json:"v_head_dim"`
	QLoraRank     int `json:"q_lora_rank,omitempty"`
}

// LocalAttention is #Model.local_attention: Layers layers attend to a window
// of Window tokens (sliding) or to their chunk of Window tokens (chunked).
type LocalAttention struct {
	Kind   string `json:"kind"`
	Window int    `json:"window"`
	Layers int    `json:"layers"`
}

// KVElementsPerToken is how many KV-cache elements one token adds to one
// layer: the compressed latent and the shared RoPE key under MLA, else K and
// V of every KV head.
func (m *Model) KVElementsPerToken() int {
	if m.MLA != nil {
		return m.MLA.KVLoraRank + m.MLA.QKRopeHeadDim
	}
	return 2 * m.KVHeads * m.HeadDim
}

// KVTokenLayers is how many (token, layer) KV entries a sequence of tokens
// tokens keeps: every layer holds every token, except local-attention layers,
// which hold at most their window.
func (m *Model) KVTokenLayers(tokens int) int {
	if la := m.LocalAttention; la != nil && la.Window < tokens {
		return (m.Layers-la.Layers)*tokens + la.Layers*la.Window
	}
	return m.Layers * tokens
}

// KVBytes is the KV cache of one sequence of tokens tokens at kvBits bits per
// element.
func (m *Model) KVBytes(tokens, kvBits int) float64 {
	return float64(m.KVTokenLayers(tokens)) * float64(m.KVElementsPerToken()) * float64(kvBits) / 8
}

// Rule is #Rule: it excludes the configs that match every field it sets.
type Rule struct {
	Models        []string `json:"models,omitempty"`
	Hardware      []string `json:"hardware,omitempty"`
	Frameworks    []string `json:"frameworks,omitempty"`
	Quantizations []string `json:"quantizations,omitempty"`
	Workloads     []string `json:"workloads,omitempty"`
	Archs         []string `json:"archs,omitempty"`
	Reason        string   `json:"reason"`
}

// Notification is #Notification; Kind says which fields are set.
type Notification struct {
	Kind       string   `json:"kind"`
	WebhookEnv string   `json:"webhook_env,omitempty"`
	To         []string `json:"to,omitempty"`
	SMTPEnv    string   `json:"smtp_env,omitempty"`
	URLEnv     string   `json:"url_env,omitempty"`
	On         []string `json:"on"`
	// PagerDuty only.
	RoutingKeyEnv string `json:"routing_key_env,omitempty"`
	Severity      string `json:"severity,omitempty"`
	EventsURL     string `json:"events_url,omitempty"`
}

// SequenceLength is one fixed input/output length pair of the grid.
type SequenceLength struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Campaign is #Campaign.
type Campaign struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Owner       string   `json:"owner,omitempty"`
	Namespace   string   `json:"namespace"`
	Models      []string `json:"models,omitempty"`
	Select      struct {
		Hardware      []string `json:"hardware,omitempty"`
		Frameworks    []string `json:"frameworks,omitempty"`
		Quantizations []string `json:"quantizations,omitempty"`
		Workloads     []string `json:"workloads,omitempty"`
	} `json:"select"`
	Filters struct {
		Hardware *struct {
			Archs              []string `json:"archs,omitempty"`
			Vendors            []string `json:"vendors,omitempty"`
			MinGPUs            int      `json:"min_gpus,omitempty"`
			MaxGPUs            int      `json:"max_gpus,omitempty"`
			MinMemoryGiB       float64  `json:"min_memory_gib,omitempty"`
			MaxOnDemandUSDHour float64  `json:"max_on_demand_usd_hour,omitempty"`
		} `json:"hardware,omitempty"`
		Models *struct {
			MaxParamsB float64  `json:"max_params_b,omitempty"`
			Families   []string `json:"families,omitempty"`
		} `json:"models,omitempty"`
		Frameworks *struct {
			Versions map[string][]string `json:"versions,omitempty"`
		} `json:"frameworks,omitempty"`
	} `json:"filters"`
	Grid struct {
		Concurrency          []int            `json:"concurrency"`
		RequestRates         []float64        `json:"request_rates"`
		SequenceLengths      []SequenceLength `json:"sequence_lengths"`
		GPUMemoryUtilization float64          `json:"gpu_memory_utilization"`
	} `json:"grid"`
	Exclude     []Rule `json:"exclude"`
	BatchSize   int    `json:"batch_size"`
	Parallelism int    `json:"parallelism"`
	Spot        struct {
		Enabled            bool       `json:"enabled"`
		FallbackToOnDemand bool       `json:"fallback_to_on_demand"`
		Provider           string     `json:"provider"`
		Label              *SpotLabel `json:"label,omitempty"`
	} `json:"spot"`
	Engine *struct {
		Plugin string `json:"plugin"`
		URL    string `json:"url"`
		Model  string `json:"model"`
	} `json:"engine,omitempty"`
	// ModelCache is where checkpoints are kept: one of PVC or HostPath is set.
	ModelCache ModelCache `json:"model_cache"`
	Cache      *struct {
		URL string `json:"url"`
	} `json:"cache,omitempty"`
	Retry struct {
		Limit   int `json:"limit"`
		Backoff struct {
			Duration string  `json:"duration"`
			Factor   float64 `json:"factor"`
			Max      string  `json:"max"`
		} `json:"backoff"`
	} `json:"retry"`
	Schedule *struct {
		Cron     string `json:"cron"`
		Timezone string `json:"timezone"`
	} `json:"schedule,omitempty"`
	Reuse Reuse `json:"reuse"`
	Store struct {
		URL string `json:"url"`
	} `json:"store"`
	Notifications []Notification `json:"notifications"`
	Archive       *struct {
		URL           string `json:"url"`
		RetentionDays int    `json:"retention_days"`
	} `json:"archive,omitempty"`
	Budget *struct {
		MaxGPUHours float64 `json:"max_gpu_hours,omitempty"`
		MaxUSD      float64 `json:"max_usd,omitempty"`
	} `json:"budget,omitempty"`
	Policy               string `json:"policy"`
	PriorityClass        string `json:"priority_class,omitempty"`
	SkipPredictedSLOMiss bool   `json:"skip_predicted_slo_miss"`
}

// Reuse is #Campaign.reuse: when a stored result stands in for a measurement.
type Reuse struct {
	Scope  string   `json:"scope"` // ReuseRun or ReuseAny
	MaxAge string   `json:"max_age,omitempty"`
	Accept []string `json:"accept"`
}

// Reuse scopes.
const (
	ReuseRun = "run"
	ReuseAny = "any"
)

// MaxAgeDuration parses MaxAge (a Go duration, or whole days or weeks); zero
// when unset.
func (r Reuse) MaxAgeDuration() (time.Duration, error) {
	if r.MaxAge == "" {
		return 0, nil
	}
	n := strings.TrimRight(r.MaxAge, "dw")
	if unit := r.MaxAge[len(n):]; unit == "d" || unit == "w" {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("reuse.max_age %q: want a number of days or weeks", r.MaxAge)
		}
		if unit == "w" {
			days *= 7
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(r.MaxAge)
	if err != nil {
		return 0, fmt.Errorf("reuse.max_age %q: %v", r.MaxAge, err)
	}
	return d, nil
}

// ModelCache is #Campaign.model_cache.
type ModelCache struct {
	// PVC names a ReadWriteMany PersistentVolumeClaim in the campaign's namespace.
	PVC string `json:"pvc,omitempty"`
	// HostPath is a folder on every GPU node.
	HostPath string `json:"host_path,omitempty"`
}

// SpotLabel is the node label that marks spot capacity.
type SpotLabel struct {
	Key      string `json:"key"`
	Spot     string `json:"spot"`
	OnDemand string `json:"on_demand,omitempty"`
	Taint    bool   `json:"taint,omitempty"`
}

// Criterion is one weighted metric of a policy.
type Criterion struct {
	Metric    string  `json:"metric"`
	Weight    float64 `json:"weight"`
	Direction string  `json:"direction"`
}

// Constraint is a hard filter applied before ranking.
type Constraint struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
}

// Policy is #Policy.
type Policy struct {
	Name          string               `json:"name"`
	Description   string               `json:"description"`
	Method        string               `json:"method"`
	Normalization string               `json:"normalization"`
	Criteria      map[string]Criterion `json:"criteria"`
	Constraints   []Constraint         `json:"constraints"`
	FitsMemory    bool                 `json:"fits_memory"`
	Budget        *struct {
		MaxUSDPerHour           float64 `json:"max_usd_per_hour,omitempty"`
		MaxUSDPer1MOutputTokens float64 `json:"max_usd_per_1m_output_tokens,omitempty"`
		Prices                  string  `json:"prices"`
	} `json:"budget,omitempty"`
	// Accuracy, when set, treats accuracy differences that are not
	// significant at this level as ties when ranking.
	Accuracy *struct {
		Significance float64 `json:"significance"`
	} `json:"accuracy,omitempty"`
	TopN     int    `json:"top_n"`
	TieBreak string `json:"tie_break"`
}
