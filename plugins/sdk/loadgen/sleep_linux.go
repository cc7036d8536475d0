package loadgen

import (
	"time"

	"golang.org/x/sys/unix"
)

// PreciseSleep sleeps d with nanosleep on the calling thread, with the thread's
// timer slack cut from its default 50 µs to 1 ns, so that it wakes within tens of
// microseconds of d rather than at the runtime's next millisecond tick.
func PreciseSleep(d time.Duration) {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	ts := unix.NsecToTimespec(int64(d))
	for {
		var rem unix.Timespec
		if err := unix.Nanosleep(&ts, &rem); err != unix.EINTR {
			return
		}
		ts = rem
	}
}
