package bench

// TEMPORARY experiment, deleted before handing back.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmsweep/llmsweep/plugins/sdk/scriptserver"
	"github.com/llmsweep/llmsweep/plugins/sdk/stream"
)

func sleepTimer(t time.Time) { time.Sleep(time.Until(t)) }

func sleepNano(t time.Time) {
	if d := time.Until(t); d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		syscall.Nanosleep(&ts, nil)
	}
}

func sleepSpin(t time.Time) {
	if d := time.Until(t) - 2*time.Millisecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}

func TestDiagSleep(t *testing.T) {
	if os.Getenv("DIAG2") == "" {
		t.Skip()
	}
	srv := scriptserver.Start(scriptserver.Script{Tokens: tokens})
	defer srv.Close()
	c := stream.NewClient(srv.URL)
	req := stream.Request{API: stream.OpenAICompletions, Model: "scripted", MaxTokens: tokens, Prompt: strings.Repeat("word ", 128)}
	for _, mode := range []string{"timer", "nanosleep-locked", "timer+gosched-spin", "timer"} {
		rng := rand.New(rand.NewPCG(1, 2))
		var sleep func(time.Time)
		switch mode {
		case "timer":
			sleep = sleepTimer
		case "nanosleep-locked":
			sleep = sleepNano
		default:
			sleep = sleepSpin
		}
		lags := make([]float64, 3000)
		var wg sync.WaitGroup
		c0 := cpuTime()
		t0 := time.Now()
		func() {
			if mode == "nanosleep-locked" {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			at := time.Now()
			for i := range lags {
				at = at.Add(time.Duration(rng.ExpFloat64() * 1e6))
				sleep(at)
				sched := at
				wg.Go(func() {
					start := time.Now()
					lags[i] = float64(start.Sub(sched)) / 1e3
					c.Do(context.Background(), req)
				})
			}
		}()
		wg.Wait()
		el := time.Since(t0)
		p := percentiles(lags)
		fmt.Printf("%-20s %s  cpu %.0f%% of 2 cores, load %s\n", mode, p.row(""), 100*(cpuTime()-c0).Seconds()/el.Seconds()/2, load())
	}
}
