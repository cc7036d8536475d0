package sdk

import "google.golang.org/protobuf/proto"

// launchSpec is what a launch of cfg runs: the launch the host compiled from its
// catalog when it sent one for this framework, so that a local run starts what
// the Argo manifests start, else the adapter's own mapping.
func (a *Adapter) launchSpec(cfg *ServerConfig) (*LaunchSpec, error) {
	if c := cfg.GetLaunch(); c != nil && len(c.GetCommand())+len(c.GetArgs()) > 0 && cfg.GetFramework() == a.Meta.GetName() {
		return proto.CloneOf(c), nil
	}
	return a.Launch(cfg)
}

// Model loading takes minutes (download, weight load, CUDA graph capture), so the
// probe allows an hour, as the generated Argo manifests do.
const (
	probeInitialDelay = 30
	probePeriod       = 10
	probeTimeout      = 5
	probeFailures     = 360 // 360 × 10 s = 1 h after the initial delay
)

// ReadinessProbe is the probe of a server that answers path on port once its
// model is loaded.
func ReadinessProbe(path string, port int32) *Probe {
	return &Probe{
		Path:                path,
		Port:                port,
		InitialDelaySeconds: probeInitialDelay,
		PeriodSeconds:       probePeriod,
		TimeoutSeconds:      probeTimeout,
		FailureThreshold:    probeFailures,
	}
}

// Per-GPU requests, kept small enough for a one-GPU L4 node (8 vCPU, 32 GiB).
const (
	cpuPerGPU       = 4
	memoryGiBPerGPU = 16
	// NCCL/RCCL move tensor-parallel traffic through /dev/shm, and vLLM's engine
	// processes exchange inputs through shared memory even at tp 1; a container's
	// default 64 MiB is far too small for either.
	shmGiB         = 2
	shmGiBParallel = 16
)

// ServerResources are the pod resources of a server on cfg's GPUs.
func ServerResources(cfg *ServerConfig) *Resources {
	gpus := cfg.GetGpus()
	if gpus == 0 {
		gpus = max(cfg.GetTensorParallel(), 1)
	}
	r := &Resources{
		Gpus:        gpus,
		GpuResource: "nvidia.com/gpu",
		Cpu:         float64(cpuPerGPU * gpus),
		MemoryGib:   float64(memoryGiBPerGPU * gpus),
		ShmGib:      shmGiB,
	}
	if cfg.GetGpuVendor() == "amd" {
		r.GpuResource = "amd.com/gpu"
	}
	if cfg.GetTensorParallel() > 1 {
		r.ShmGib = shmGiBParallel
	}
	return r
}
