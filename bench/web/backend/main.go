// Command backend is the application behind the proxies in bench/web: every
// request gets the same body (2 KB of text by default; -size and -delay
// make it a PHP-like page: HTML, answered after a delay), so the figures
// measure the proxy. With
// -proxy it is instead a bare httputil.ReverseProxy to that URL: with the
// backend itself, the ceilings of Go's net/http for the two tests, measured
// under the same harness as bartleby.
package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "listen address")
	proxy := flag.String("proxy", "", "be a bare reverse proxy to this URL instead")
	size := flag.Int("size", 2048, "body size in bytes (a multiple of 16)")
	delay := flag.Duration("delay", 0, "wait this long before answering")
	flag.Parse()
	body := bytes.Repeat([]byte("0123456789abcdef"), *size/16)
	ctype := "text/plain"
	if *delay > 0 {
		ctype = "text/html; charset=utf-8"
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*delay)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	if *proxy != "" {
		u, err := url.Parse(*proxy)
		if err != nil {
			log.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
		rp.ErrorLog = log.New(io.Discard, "", 0) // wrk's cut connections at the end
		h = rp
	}
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second, Handler: h}
	log.Fatal(srv.ListenAndServe())
}
