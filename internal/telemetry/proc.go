package telemetry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"
)

// clkTck is USER_HZ, the unit of the times in /proc/<pid>/stat: 100 in the
// Linux ABI whatever the kernel's CONFIG_HZ (procfs assumes the same).
const clkTck = 100

type procSampler struct {
	mu     sync.Mutex
	pid    int
	fs     procfs.FS
	fsErr  error
	closed bool

	primed    bool
	prevTicks int64
	prevAt    time.Time
}

// NewProc samples the process tree rooted at pid (pid <= 0: this process):
// the process and every descendant found by following parent pids through
// /proc/*/stat, since servers fork workers that do the real work.
//
// CPUPct is the tree's user+system CPU time over wall time, 100 per busy
// core. The first Sample has no earlier reading to difference against, so it
// reports the average since pid started; drop it to keep only the run's own
// interval. Later samples cover the time since the previous one. Each
// process counts its reaped children (cutime+cstime), so a worker that
// exits and is reaped inside the tree keeps its CPU time in the total; one
// that leaves the tree otherwise (reparented to init) loses its last
// interval, and an interval whose total shrank reports 0.
//
// RSSBytes sums VmRSS over the tree, so pages shared between the processes
// (copy-on-write after fork, shared libraries) count once per process: an
// upper bound.
//
// On systems without /proc every Sample returns an error.
func NewProc(pid int) Sampler {
	if pid <= 0 {
		pid = os.Getpid()
	}
	fs, err := procfs.NewFS(procfs.DefaultMountPoint)
	return &procSampler{pid: pid, fs: fs, fsErr: err}
}

func (s *procSampler) String() string {
	return fmt.Sprintf("proc sampler for pid %d and its descendants", s.pid)
}

func (s *procSampler) Sample(now time.Time) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("telemetry: proc sampler is closed")
	}
	if s.fsErr != nil {
		return nil, fmt.Errorf("telemetry: proc sampler: %w", s.fsErr)
	}
	tree, err := s.tree()
	if err != nil {
		return nil, err
	}
	var (
		ticks int64
		rss   uint64
	)
	for _, p := range tree {
		ticks += int64(p.stat.UTime) + int64(p.stat.STime) + int64(p.stat.CUTime) + int64(p.stat.CSTime)
		// A process that exited since the walk, or a zombie, has no VmRSS.
		if st, err := p.proc.NewStatus(); err == nil {
			rss += st.VmRSS
		}
	}

	var pct float64
	if !s.primed {
		if up, err := readUptime(); err == nil {
			if elapsed := up - float64(tree[0].stat.Starttime)/clkTck; elapsed > 1.0/clkTck {
				pct = float64(ticks) / clkTck / elapsed * 100
			}
		}
	} else if dt := now.Sub(s.prevAt).Seconds(); dt > 0 && ticks >= s.prevTicks {
		pct = float64(ticks-s.prevTicks) / clkTck / dt * 100
	}
	s.primed, s.prevTicks, s.prevAt = true, ticks, now

	return []Sample{{
		TimeNs:   now.UnixNano(),
		Source:   SourceProc,
		Device:   "pid " + strconv.Itoa(s.pid),
		CPUPct:   pct,
		RSSBytes: rss,
	}}, nil
}

type procEntry struct {
	proc procfs.Proc
	stat procfs.ProcStat
}

// tree returns the root first, then its descendants.
func (s *procSampler) tree() ([]procEntry, error) {
	procs, err := s.fs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("telemetry: listing processes: %w", err)
	}
	byPID := make(map[int]procEntry, len(procs))
	children := make(map[int][]int)
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue // exited while we walked
		}
		byPID[p.PID] = procEntry{p, st}
		children[st.PPID] = append(children[st.PPID], p.PID)
	}
	root, ok := byPID[s.pid]
	if !ok {
		return nil, fmt.Errorf("telemetry: pid %d: no such process", s.pid)
	}
	// The walk is not atomic, so pid reuse could in principle loop.
	seen := map[int]bool{s.pid: true}
	out := []procEntry{root}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].proc.PID] {
			if !seen[c] {
				seen[c] = true
				out = append(out, byPID[c])
			}
		}
	}
	return out, nil
}

func (s *procSampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// readUptime returns seconds since boot, the clock that stat's starttime uses.
func readUptime() (float64, error) {
	b, err := os.ReadFile(filepath.Join(procfs.DefaultMountPoint, "uptime"))
	if err != nil {
		return 0, err
	}
	f, _, _ := strings.Cut(string(b), " ")
	return strconv.ParseFloat(f, 64)
}
