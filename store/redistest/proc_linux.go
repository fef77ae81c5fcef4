package redistest

import (
	"os/exec"
	"syscall"
)

// setPdeathsig kills redis-server if the test binary dies without
// cleaning up (a panic, a timeout), so no server outlives its test.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
