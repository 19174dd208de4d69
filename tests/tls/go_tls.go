// A keep-alive net/http client (crypto/tls), N sequential GETs of
// URL/0..N-1 trusting only CAFILE; bodies to stdout.
// usage: go_tls URL CAFILE N
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

func main() {
	pem, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	n, _ := strconv.Atoi(os.Args[3])
	for i := 0; i < n; i++ {
		r, err := c.Get(fmt.Sprintf("%s/%d", os.Args[1], i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := io.Copy(os.Stdout, r.Body); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r.Body.Close()
	}
}
