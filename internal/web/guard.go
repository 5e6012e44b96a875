package web

import "net/http"

// guardFraming runs before any site is looked up and protects the framing of the
// connection a request came on.
//
// Go's server reads a request carrying both Transfer-Encoding: chunked and
// Content-Length as chunked and drops the Content-Length before a handler
// sees it, so the conflict cannot be told from a plain chunked request
// here. A front proxy that framed the same bytes by Content-Length would
// send the rest of its body as a second request on this connection (request
// smuggling). RFC 9112 §6.1 says to close the connection after such a
// request: every HTTP/1.1 request that arrived chunked gets
// "Connection: close" and its connection ends after the response, so no
// byte after its body is ever read as a request. Browsers never send
// chunked request bodies, so this costs a reconnect only to streaming
// uploads. HTTP/1.0 has no chunked coding and Go ignores a
// Transfer-Encoding on it (RFC 9112 §6.1 again: close after it), so an
// HTTP/1.0 connection is not kept alive either.
//
// CONNECT is refused: this is no forward proxy, and a tunnel would carry
// anything past the routes.
func guardFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && (len(r.TransferEncoding) > 0 || r.ProtoMinor == 0) {
			w.Header()["Connection"] = hdrClose
		}
		if r.Method == http.MethodConnect {
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var hdrClose = []string{"close"}
