// goget.go - Go clients for the engine tests and benchmarks.
//
//   goget URL COUNT MODE [WORKERS]
//
// MODE: get, head, post (a bytes body: Content-Length), nokeepalive (GETs
// with DisableKeepAlives: Go closes every connection itself - the native
// baseline), exec (runs "curl -sS URL" as a child, once).  WORKERS
// goroutines share one Transport and make COUNT requests in all.
// Prints "done N errors E sockets S bytes B" (B: body bytes read; S:
// sockets open at the end) and exits 1 on any error.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func openSockets() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && len(target) > 7 && target[:7] == "socket:" {
			n++
		}
	}
	return n
}

func main() {
	url := os.Args[1]
	count, _ := strconv.Atoi(os.Args[2])
	mode := os.Args[3]
	workers := 1
	if len(os.Args) > 4 {
		workers, _ = strconv.Atoi(os.Args[4])
	}
	if mode == "exec" {
		out, err := exec.Command("curl", "-sS", "-i", url).CombinedOutput()
		os.Stdout.Write(out)
		if err != nil {
			fmt.Println("curl:", err)
			os.Exit(1)
		}
		return
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 1000,
		DisableKeepAlives: mode == "nokeepalive"}
	client := &http.Client{Transport: tr}
	var done, errs, bodyBytes int64
	var next int64 = -1
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(count) {
					return
				}
				var resp *http.Response
				var err error
				switch mode {
				case "head":
					resp, err = client.Head(fmt.Sprintf("%s/%d", url, i))
				case "post":
					body := bytes.Repeat([]byte{byte('a' + i%26)}, int(100+i%500))
					resp, err = client.Post(fmt.Sprintf("%s/%d", url, i),
						"application/octet-stream", bytes.NewReader(body))
				default:
					resp, err = client.Get(fmt.Sprintf("%s/%d", url, i))
				}
				if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					atomic.AddInt64(&bodyBytes, n)
				}
				if err != nil {
					atomic.AddInt64(&errs, 1)
					first.CompareAndSwap(nil, err)
					continue
				}
				atomic.AddInt64(&done, 1)
			}
		}()
	}
	wg.Wait()
	// Go closes a connection from its read loop after the body was
	// handed over: up to 2 s for the last ones to go
	sockets := openSockets()
	for i := 0; i < 100 && sockets > 0; i++ {
		time.Sleep(20 * time.Millisecond)
		sockets = openSockets()
	}
	fmt.Printf("done %d errors %d sockets %d bytes %d\n", done, errs, sockets, bodyBytes)
	if errs > 0 {
		fmt.Fprintln(os.Stderr, "first error:", first.Load())
		os.Exit(1)
	}
}
