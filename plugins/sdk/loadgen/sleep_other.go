//go:build !linux

package loadgen

import "time"

// PreciseSleep is time.Sleep where the thread's timer slack cannot be cut.
func PreciseSleep(d time.Duration) { time.Sleep(d) }
