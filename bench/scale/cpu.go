package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100
// on every Linux architecture cairn builds for.
const clockTick = 10 * time.Millisecond

// usage is the CPU time one measured run cost: the client's (the benchmark
// itself for the raw ceilings, the cairn process for cairn's runs) and the
// server's (the API server and etcd, which share the machine's cores).
type usage struct{ client, server time.Duration }

// cpuMeter reads the CPU time of the API server and etcd.
type cpuMeter struct{ pids []int }

func newCPUMeter(pids map[string]int) (*cpuMeter, error) {
	m := &cpuMeter{}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		pid, ok := pids[name]
		if !ok {
			return nil, fmt.Errorf("no %s process to measure", name)
		}
		m.pids = append(m.pids, pid)
	}
	return m, nil
}

// server returns the CPU time the API server and etcd have used so far.
func (m *cpuMeter) server() (time.Duration, error) {
	var total time.Duration
	for _, pid := range m.pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// The command name, in parentheses, may hold spaces: fields are
		// counted after its closing one. utime and stime are fields 14
		// and 15 of the line, 12 and 13 after the name.
		rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
		}
		for _, s := range f[11:13] {
			ticks, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			total += time.Duration(ticks) * clockTick
		}
	}
	return total, nil
}

// self returns the CPU time of the benchmark's own process so far.
func self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f and returns what it cost the benchmark's process and the
// server. A client run in another process sets its own share afterwards.
func (m *cpuMeter) measure(f func() error) (usage, error) {
	s0, err := m.server()
	if err != nil {
		return usage{}, err
	}
	c0 := self()
	if err := f(); err != nil {
		return usage{}, err
	}
	c1 := self()
	s1, err := m.server()
	if err != nil {
		return usage{}, err
	}
	return usage{client: c1 - c0, server: s1 - s0}, nil
}
