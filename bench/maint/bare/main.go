// Command bare is the ceiling for bench/maint: a bare Go net/http server
// answering every request with 503 and the same bytes as bartleby's
// maintenance page (the body and the headers saved from bartleby's
// answer), with header values made once, as bartleby's are.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"log"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18490", "listen address")
	page := flag.String("page", "", "the body to send")
	headers := flag.String("headers", "", `the headers to send, "Name: value" lines`)
	flag.Parse()
	body, err := os.ReadFile(*page)
	if err != nil {
		log.Fatal(err)
	}
	hdr, err := readHeaders(*headers)
	if err != nil {
		log.Fatal(err)
	}
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wh := w.Header()
		for k, v := range hdr {
			wh[k] = v
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(body)
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 10 * time.Second, Handler: h}
	log.Fatal(srv.ListenAndServe())
}

// readHeaders reads "Name: value" lines.
func readHeaders(path string) (http.Header, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			hdr[textproto.CanonicalMIMEHeaderKey(k)] = []string{strings.TrimSpace(v)}
		}
	}
	return hdr, sc.Err()
}
