package daemon

import (
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// The states systemd's Type=notify waits for. Outside systemd
// (no $NOTIFY_SOCKET) notify does nothing.
const (
	sdReady     = sd.SdNotifyReady
	sdStopping  = sd.SdNotifyStopping
	sdReloading = sd.SdNotifyReloading
)

// notify tells systemd the daemon's state. RELOADING carries the monotonic
// time systemd ≥ 253 asks for.
func notify(state string) {
	if state == sdReloading {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
			state += "\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/int64(time.Microsecond), 10)
		}
	}
	sd.SdNotify(false, state)
}
