// Command go_peers (bench/peers/run builds it under that name): Go's side
// of every row of bench/peers/run, one workload per subcommand, each the
// same shape as coscope's (bench/peers/coscope_micro.cpp,
// bench/peers/coscope_echo.cpp, runtime_bench's yield round trip).
//
//	go_peers yield    [-seconds S] [-procs P]   runtime.Gosched round trip between two goroutines
//	go_peers pingpong [-seconds S] [-procs P]   an int bounced over two unbuffered channels
//	go_peers park     [-tasks N]   [-procs P]   spawn N goroutines that park in time.Sleep: RSS and rate
//	go_peers sleep    [-tasks T] [-sleeps K] [-procs P]   lateness of K 1 ms sleeps in each of T goroutines
//	go_peers echo     [-port N]    [-procs P]   echo server on 127.0.0.1, a goroutine per connection
//
// -procs sets GOMAXPROCS (the number of threads running Go code at once);
// the defaults match the coscope side's worker counts. Each micro workload
// prints one line of key=value pairs; echo prints "listening on
// 127.0.0.1:PORT" and runs until killed.
//
// Design: the plainest idiomatic Go for each workload (go, chan,
// sync.WaitGroup, time.Sleep, net.Listen), no tuning, so the figures are
// what a Go program would see out of the box.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	seconds := fs.Float64("seconds", 2, "length of the timed window")
	procs := fs.Int("procs", 0, "GOMAXPROCS (0: the workload's default)")
	tasks := fs.Int("tasks", 0, "goroutines (0: the workload's default)")
	sleeps := fs.Int("sleeps", 100, "sleeps per goroutine (sleep)")
	port := fs.Int("port", 0, "port to listen on, 0 for an ephemeral one (echo)")
	fs.Parse(args)
	setProcs := func(def int) {
		if *procs == 0 {
			*procs = def
		}
		runtime.GOMAXPROCS(*procs)
	}
	orDefault := func(v *int, def int) int {
		if *v == 0 {
			return def
		}
		return *v
	}
	window := time.Duration(*seconds * float64(time.Second))
	switch cmd {
	case "yield":
		setProcs(1)
		yield(window)
	case "pingpong":
		setProcs(2)
		pingpong(window)
	case "park":
		setProcs(1)
		park(orDefault(tasks, 1000000))
	case "sleep":
		setProcs(1)
		sleepLateness(orDefault(tasks, 1000), *sleeps)
	case "echo":
		setProcs(1)
		echo(*port)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "peers: unknown workload %q\n", cmd)
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go_peers yield|pingpong|park|sleep|echo [-seconds S] [-procs P] [-tasks N] [-sleeps K] [-port N]")
	os.Exit(2)
}

// yield: two goroutines on one P each call runtime.Gosched in a loop, so
// every Gosched hands the P to the other one: a round trip is one
// iteration of the timing goroutine's loop. Reports wall and CPU time per
// round trip (coscope's yield row is CPU time, immune to other load).
func yield(window time.Duration) {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			runtime.Gosched()
		}
		close(done)
	}()
	runtime.Gosched() // let the partner start
	t0, cpu0 := time.Now(), cpuTime()
	n := 0
	var elapsed time.Duration
	for elapsed < window {
		for i := 0; i < 1024; i++ {
			runtime.Gosched()
		}
		n += 1024
		elapsed = time.Since(t0)
	}
	cpu := cpuTime() - cpu0
	stop.Store(true)
	<-done
	fmt.Printf("ns_per_round_trip=%.1f cpu_ns_per_round_trip=%.1f round_trips=%d\n",
		float64(elapsed.Nanoseconds())/float64(n), float64(cpu.Nanoseconds())/float64(n), n)
}

// cpuTime returns the process's user+system CPU time. With GOMAXPROCS=1 that
// is the one thread running goroutines, plus the little sysmon uses.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pingpong(window time.Duration) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	n := 0
	var elapsed time.Duration
	for elapsed < window {
		for i := 0; i < 1024; i++ {
			ping <- i
			<-pong
		}
		n += 1024
		elapsed = time.Since(t0)
	}
	close(ping)
	fmt.Printf("ns_per_round_trip=%.1f round_trips=%d\n", float64(elapsed.Nanoseconds())/float64(n), n)
}

// vmRSS returns this process's resident set in bytes, from /proc/self/status.
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024
		}
	}
	return -1
}

func park(tasks int) {
	before := vmRSS()
	var parked sync.WaitGroup
	parked.Add(tasks)
	t0 := time.Now()
	for i := 0; i < tasks; i++ {
		go func() {
			parked.Done()
			time.Sleep(time.Hour)
		}()
	}
	parked.Wait()
	elapsed := time.Since(t0)
	after := vmRSS()
	fmt.Printf("tasks=%d spawn_per_s=%.0f rss_per_task=%.0f rss_before=%d rss_after=%d\n",
		tasks, float64(tasks)/elapsed.Seconds(), float64(after-before)/float64(tasks), before, after)
	os.Exit(0) // the parked goroutines are not waited for
}

func sleepLateness(tasks, sleeps int) {
	late := make([]time.Duration, tasks*sleeps)
	var wg sync.WaitGroup
	wg.Add(tasks)
	for t := 0; t < tasks; t++ {
		mine := late[t*sleeps : (t+1)*sleeps]
		go func() {
			defer wg.Done()
			for k := range mine {
				t0 := time.Now()
				time.Sleep(time.Millisecond)
				mine[k] = time.Since(t0) - time.Millisecond
			}
		}()
	}
	wg.Wait()
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	fmt.Printf("p50_us=%.1f p99_us=%.1f samples=%d\n", us(late[len(late)/2]), us(late[(len(late)-1)*99/100]), len(late))
}

func echo(port int) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers echo:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}

// serve echoes everything the peer sends until it closes the connection.
func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
