// Package sim predicts what a benchmark config will measure and how long it
// will take, without a GPU: a roofline model of one engine iteration, a
// discrete-event simulation of a continuous-batching scheduler on top of it,
// and the campaign arithmetic of `llmsweep plan` (wall time, GPU-hours, cost,
// SLO misses, balanced batches).
//
// # The step model
//
// It follows the roofline estimators LLM-Viewer (Yuan et al. 2024, "LLM
// Inference Unveiled: Survey and Roofline Model Insights", arXiv:2402.16363)
// and GenZ (Bambhaniya et al. 2024, "Demystifying Platform Requirements for
// Diverse LLM Inference Use Cases", arXiv:2406.01698): a step's GEMMs take the
// longer of their compute time and the time to stream the weights, its
// attention the longer of its compute time and the time to stream the KV
// cache, each divided by an efficiency factor; the two add (they are separate
// kernels, so a large batch's GEMM compute does not hide its KV reads), plus
// the tensor-parallel communication.
//
//   - FLOPs of a step = 2·P_active per token processed, plus attention:
//     4·layers·heads·head_dim per token of context for each decoding sequence
//     (QK^T and AV), and 2·layers·heads·head_dim·L² for a prompt of L tokens
//     (the same two products, halved for the causal mask). Compute time =
//     FLOPs / (peak·MFU·TP); the peak is the GPU's dense FP16 one, or its FP8
//     (fp8) or INT8 (w8a8) one where the catalog quotes it. W4A16 (AWQ, GPTQ)
//     computes in FP16 and pays 20% for dequantization.
//   - Bytes of a step on one GPU = the weights read (the active layers at the
//     quantization's width, 4-bit formats with 3% of group scales, the LM head
//     in 16 bits; the embedding is a gather) / TP, plus the KV cache read and
//     written, 2·layers·kv_heads·head_dim·bytes per token, with KV heads split
//     over the TP group (replicated when there are fewer than GPUs). Memory
//     time = bytes / (HBM bandwidth·MBU). For MoE models FLOPs use the active
//     parameters, memory the total; the routed experts a step reads grow with
//     the batch as 1−(1−k/E)^batch of them.
//   - Tensor parallelism adds two all-reduces of the step's hidden states per
//     layer, each a ring: 2(n−1)/n·bytes / link bandwidth (one direction, half
//     the catalog's bidirectional gbps) + a latency of 8 µs (25 µs over PCIe).
//   - Every step adds a fixed host time, Efficiency.StepMS (scheduling,
//     sampling, kernel launches), and every request's first token a fixed
//     Efficiency.RequestMS (HTTP, tokenizing), 0 unless the catalog or a fit
//     sets them.
//
// So a decode step of Llama-3-8B in BF16 at batch 1 on one H100 SXM is about
// 16 GB / (3.35 TB/s · MBU): memory-bound until the batch is in the hundreds.
//
// # The scheduler
//
// Simulate replays a workload through a vLLM-like engine: a closed loop keeps
// the concurrency in flight, an open loop sends at the rate with gamma gaps
// (shape = burstiness, 1 is Poisson). A request waits for one of MaxSeqs slots
// and for KV memory for its prompt plus its answer; prompts are prefilled in
// chunks within a MaxBatchTokens budget, mixed into decode iterations (both
// limits per framework where its efficiency entry sets them: TensorRT-LLM
// batches thousands offline; and per framework version where its defaults
// changed, VersionLimits: vLLM's V1 engine runs 1024 sequences on H100). An
// engine that schedules every n decode steps
// (Efficiency.AdmitSteps: TGI's max_waiting_tokens; vLLM's
// --num-scheduler-steps) makes a newcomer wait half a round while a batch
// runs. When demand passes capacity, the queue grows and TTFT with it. The
// simulation is deterministic (seeded by the workload), jumps over runs of
// identical decode steps, and gives P50 and P99 directly.
//
// Load.Static runs static batches instead (TensorRT-LLM's
// gptSessionBenchmark, LMDeploy's profile_generation): a round of
// Concurrency requests prefills together, decodes until its longest answer
// ends, and only then does the next round start.
//
// # Efficiency
//
// MFU, MBU, StepMS and RequestMS per (framework, GPU architecture) come from
// the catalog's _efficiency table (catalog/efficiency.cue), which may name
// frameworks the catalog does not have yet; Calibrate fits them to measured
// results (or published points) by minimizing squared log errors with gonum's
// Nelder–Mead, within bounds that keep them physical.
//
// # Scoring
//
// ReadPoints reads published measurements (testdata/published/points.csv:
// the source, batching mode, tool and request count of each). Score predicts
// them with a table as it is, FitScore with a table fitted to other points,
// and CrossValidate holds out one source document at a time and predicts it
// with factors fitted to all the others; a pair the others cannot fit takes
// its prior moved halfway to its architecture's pooled fit. Each reports the median and 90th-percentile
// absolute percentage error per metric, framework and source. The held-out
// errors give the prediction intervals (IntervalsFrom): the 10th to 90th
// percentile of measured/predicted per framework and metric. Publish fits the
// catalog's priors to every published point and cross-validates that fitting;
// published.json ships both (LoadPublished): plan predicts with the fit
// (Published.Apply) and attaches the intervals to every prediction.
//
// # Known limits
//
// The model has no per-request overhead outside the engine (HTTP, tokenizing),
// no prefix caching, no speculative decoding and no preemption (a request
// reserves KV for its whole answer up front, so the KV limit shows as waiting,
// not as recomputation). Tied embeddings are guessed from the parameter count.
// Lengths of a published point are its means, so a ShareGPT run is simulated
// at fixed lengths. On the published points TTFT is the least accurate metric.
//
// # Extending the model
//
// New architectures (MLA attention, MoE routing) change what a step reads and
// computes: they belong in New (the bytes and the FLOPs per token) and in
// StepSeconds (which roofline each kernel is on); the scheduler and the
// scoring do not depend on them.
package sim
