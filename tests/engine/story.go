// story.go - the Go client this project exists for: a shared
// http.Transport whose net.Dialer has no timeout and no keep-alive,
// submitData POSTing an application/octet-stream body from an io.Reader
// (so it goes out chunked), defer resp.Body.Close(), the body read.
// Against a server that never says close, every request leaves an idle
// connection behind... until "too many open files".
//
// usage: story URL COUNT [new]   (new: a Client and Transport per request)
// Prints "done N errors E sockets S" (S: sockets open at the end) and
// exits 1 if any request failed.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func newClient() *http.Client {
	dialer := &net.Dialer{Timeout: 0, KeepAlive: 0}
	transport := &http.Transport{DialContext: dialer.DialContext}
	return &http.Client{Transport: transport}
}

func submitData(client *http.Client, url string, i int) error {
	// a reader that is not a bytes.Reader: no ContentLength, chunked
	body := io.MultiReader(bytes.NewReader([]byte(fmt.Sprintf("payload %06d ", i))),
		bytes.NewReader(bytes.Repeat([]byte{byte('a' + i%26)}, 100+i%300)))
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

// openSockets: the program's sockets still open (idle connections); -1
// when not even /proc/self/fd can be opened (no descriptor left).
func openSockets() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
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
	perRequest := len(os.Args) > 3 && os.Args[3] == "new"
	client := newClient()
	done, errors := 0, 0
	var first error
	for i := 0; i < count; i++ {
		if perRequest {
			client = newClient()
		}
		if err := submitData(client, url, i); err != nil {
			errors++
			if first == nil {
				first = err
			}
			if errors > 20 {
				break
			}
			continue
		}
		done++
	}
	// Go closes a connection from its read-loop goroutine after the
	// body was handed over: give the last one up to 2 s to go
	sockets := openSockets()
	for i := 0; i < 100 && sockets != 0; i++ {
		time.Sleep(20 * time.Millisecond)
		sockets = openSockets()
	}
	fmt.Printf("done %d errors %d sockets %d\n", done, errors, sockets)
	if first != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", first)
		os.Exit(1)
	}
}
