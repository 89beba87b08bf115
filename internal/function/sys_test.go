package function_test

import "syscall"

func syscallAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
