package rie

import "syscall"

// dieWithParent asks the kernel to SIGKILL the emulator when keygate local
// dies, even by SIGKILL, so no emulator is left listening (prctl
// PR_SET_PDEATHSIG, Linux only). The signal follows the OS thread that
// started the process (golang/go#27505); keygate starts emulators from
// goroutines that never lock their thread, and the thread ends only with the
// process.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
