package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// JSONRawErrors wraps the api's listener so that the answers net/http writes itself,
// before any handler runs, to a request it cannot read (a control character in a
// header, a malformed Host, headers over the size limit, an unknown transfer coding)
// carry the JSON error body every other answer has, instead of plain text.
func JSONRawErrors(ln net.Listener) net.Listener { return rawErrorsListener{ln} }

type rawErrorsListener struct{ net.Listener }

func (l rawErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return rawErrorsConn{c}, nil
}

type rawErrorsConn struct{ net.Conn }

// CloseWrite half-closes the connection as net/http does before it hangs up on a client
// still sending (its closeWriteAndWait), so that the client reads the answer, not a reset.
func (c rawErrorsConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the connection's own (sendfile) path for bodies: never a raw error.
func (c rawErrorsConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// rawErrorHeaders are the headers of every answer net/http gives outside a handler, in
// one write with its status line and body (net/http's server.go).
var rawErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c rawErrorsConn) Write(p []byte) (int, error) {
	if out, ok := rawErrorAsJSON(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// rawErrorAsJSON rewrites p when it is a whole answer of net/http's own.
func rawErrorAsJSON(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	i := bytes.Index(rest, rawErrorHeaders)
	if !ok || i < 3 || bytes.Contains(rest[:i], []byte("\r\n")) {
		return nil, false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	body, _ := json.Marshal(map[string]apiError{"error": {Code: codeOf(status), Message: "the request cannot be read: " + string(rest[i+len(rawErrorHeaders):])}})
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), body), true
}
