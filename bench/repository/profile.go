package main

import (
	"bytes"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// peakHeap samples the live heap while a phase runs and keeps the heap
// profile of the moment it was largest, which is what bounds peak RSS.
type peakHeap struct {
	stop chan struct{}
	done chan []byte
}

func watchHeap() *peakHeap {
	p := &peakHeap{stop: make(chan struct{}), done: make(chan []byte, 1)}
	go p.run()
	return p
}

func (p *peakHeap) run() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var most uint64
	var best []byte
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			p.done <- best
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live > most {
			most = live
			var buf bytes.Buffer
			if err := pprof.Lookup("heap").WriteTo(&buf, 0); err == nil {
				best = buf.Bytes()
			}
		}
	}
}

// write stops sampling and writes the kept profile to path.
func (p *peakHeap) write(path string) error {
	close(p.stop)
	return os.WriteFile(path, <-p.done, 0o644)
}
