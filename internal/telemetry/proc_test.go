//go:build linux

package telemetry

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startBusyTree starts sh, which forks a second sh that spins; sh itself
// only waits, so any CPU time the tree shows comes from the grandchild.
func startBusyTree(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", `sh -c 'while :; do :; done' & wait`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func TestProcBusyTree(t *testing.T) {
	pid := startBusyTree(t)
	s := NewProc(pid).(*procSampler)
	defer s.Close()

	var tree []procEntry
	for deadline := time.Now().Add(5 * time.Second); len(tree) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the spinning grandchild never appeared under pid %d", pid)
		}
		var err error
		if tree, err = s.tree(); err != nil {
			t.Fatal(err)
		}
	}
	spinner := tree[1].proc.PID
	// The machine may be loaded (go test runs packages in parallel), so the
	// spinner may get far less than a core: wait for CPU time to accumulate
	// instead of sleeping a fixed time, and compare with the spinner's own
	// counters rather than with an absolute level.
	waitTicks := func(from, n int64) {
		for deadline := time.Now().Add(20 * time.Second); statTicks(t, spinner)-from < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("spinner got under %d ticks of CPU in 20s", n)
			}
		}
	}
	waitTicks(0, 10)

	t0 := time.Now()
	first, err := s.Sample(t0)
	if err != nil {
		t.Fatal(err)
	}
	spin0, root0 := statTicks(t, spinner), statTicks(t, pid)
	if len(first) != 1 {
		t.Fatalf("got %d samples, want 1", len(first))
	}
	// No earlier reading: the average since sh started, which has spun.
	if first[0].CPUPct <= 0 {
		t.Errorf("first sample CPU%% = %.1f, want the average since start, above 0", first[0].CPUPct)
	}

	waitTicks(spin0, 30)
	t1 := time.Now()
	got, err := s.Sample(t1)
	if err != nil {
		t.Fatal(err)
	}
	spin1, root1 := statTicks(t, spinner), statTicks(t, pid)
	smp := got[0]
	want := float64(spin1-spin0) / clkTck / t1.Sub(t0).Seconds() * 100
	t.Logf("%+v; spinner alone %.1f%%", smp, want)
	if smp.Source != SourceProc || smp.Device != "pid "+strconv.Itoa(pid) {
		t.Errorf("source, device = %q, %q", smp.Source, smp.Device)
	}
	// Readings straddle Sample by a few ms: allow a tick or two plus 10%.
	if smp.CPUPct <= 0 || math.Abs(smp.CPUPct-want) > 3+want/10 {
		t.Errorf("CPU%% = %.1f, want the spinning grandchild's %.1f", smp.CPUPct, want)
	}
	if d := root1 - root0; d > 5 {
		t.Errorf("the root sh itself used %d ticks; the test needs it idle to show descendants count", d)
	}
	if smp.RSSBytes == 0 {
		t.Error("RSS = 0")
	}
	rootOnly, err := tree[0].proc.NewStatus()
	if err != nil {
		t.Fatal(err)
	}
	if smp.RSSBytes <= rootOnly.VmRSS {
		t.Errorf("tree RSS %d <= root RSS %d: descendants not summed", smp.RSSBytes, rootOnly.VmRSS)
	}
}

// statTicks reads utime+stime from /proc/<pid>/stat without procfs, as an
// independent check.
func statTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // f[0] is field 3, state
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parsing %q: %v %v", b, err1, err2)
	}
	return u + st
}

func TestProcSelf(t *testing.T) {
	s := NewProc(0)
	got, err := s.Sample(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); got[0].Device != want {
		t.Errorf("device = %q, want %q", got[0].Device, want)
	}
	if got[0].RSSBytes == 0 || got[0].CPUPct < 0 {
		t.Errorf("%+v", got[0])
	}
	// Same instant again: no interval, so 0 rather than a division by zero.
	again, err := s.Sample(time.Unix(0, got[0].TimeNs))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].CPUPct != 0 {
		t.Errorf("zero interval gave CPU%% %v", again[0].CPUPct)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sample(time.Now()); err == nil {
		t.Error("Sample after Close succeeded")
	}
}

func TestProcMissingPID(t *testing.T) {
	// Above the kernel's pid_max ceiling (2^22), so it can never exist.
	s := NewProc(1 << 30)
	if got, err := s.Sample(time.Now()); err == nil {
		t.Fatalf("want an error, got %+v", got)
	}
}
