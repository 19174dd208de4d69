// A Go program for forceclose --check.  It uses package net so that a cgo
// build links dynamically against glibc (and is still a Go program).
package main

import (
	"fmt"
	"net"
)

func main() {
	fmt.Println(net.ParseIP("127.0.0.1"))
}
