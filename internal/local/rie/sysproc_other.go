//go:build !linux

package rie

import "syscall"

// dieWithParent has no equivalent outside Linux: there, emulators are
// stopped by keygate local's own shutdown (SIGINT, SIGTERM, SIGHUP) and are
// left running if it is killed with SIGKILL.
func dieWithParent() *syscall.SysProcAttr { return nil }
