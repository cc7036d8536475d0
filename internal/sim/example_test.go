package sim_test

import (
	"fmt"

	"github.com/llmsweep/llmsweep/internal/campaign"
	"github.com/llmsweep/llmsweep/internal/sim"
)

// The step times of Llama-3-8B in BF16 on one H100 SXM at MFU 0.5 and MBU 0.7:
// decode is memory-bound (about 15 GB read per step at 3.35 TB/s · 0.7), a
// 1000-token prompt compute-bound.
func ExampleModel_DecodeStepSeconds() {
	m := campaign.Model{Name: "llama-3-8b", ParamsB: 8.03, ActiveParamsB: 8.03, Layers: 32, HiddenSize: 4096,
		IntermediateSize: 14336, AttentionHeads: 32, KVHeads: 8, HeadDim: 128, VocabSize: 128256}
	h := campaign.Hardware{Name: "h100-sxm-x1", Count: 1, GPU: campaign.GPU{Model: "H100-SXM5-80GB", Arch: "hopper",
		MemoryGiB: 79.65, HBMTBps: 3.35, DenseTFLOPS: map[string]float64{"fp16": 989, "fp8": 1979}}}
	q := campaign.Quantization{Name: "bf16", Method: "bf16", WeightBits: 16, ActivationBits: 16, KVBits: 16}
	x, err := sim.New(m, h, q, sim.Efficiency{MFU: 0.5, MBU: 0.7})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("decode, batch 1:            %.2f ms\n", x.DecodeStepSeconds(1, 0)*1e3)
	fmt.Printf("decode, batch 64, 64k ctx:  %.2f ms\n", x.DecodeStepSeconds(64, 65536)*1e3)
	fmt.Printf("prefill, 1000 tokens:       %.2f ms\n", x.PrefillSeconds(1000)*1e3)
	fmt.Printf("KV cache at 90%% memory:     %d tokens\n", x.KVCapacityTokens(0.9))

	m.Layers = 0
	_, err = sim.New(m, h, q, sim.Efficiency{MFU: 0.5, MBU: 0.7})
	fmt.Println(err)
	// Output:
	// decode, batch 1:            6.40 ms
	// decode, batch 64, 64k ctx:  10.06 ms
	// prefill, 1000 tokens:       39.24 ms
	// KV cache at 90% memory:     452427 tokens
	// model llama-3-8b lacks architecture metadata the performance model needs: layers
}
