package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadConn is one keep-alive HTTP/1.1 connection of the benchmark's load generator, as a
// softphone's would be: a request is one write of its bytes, the answer is read by
// Content-Length (or chunks, or to the close). It stands in for net/http's client, whose two
// goroutines per connection, header maps and channels cost about as much CPU a request as the API's own
// handling of it (a third of the process's CPU in a profile of the benchmark), all on the two
// cores the service is measured on. It speaks only what the benchmark needs and checks what it
// reads: a malformed answer is an error, never a guess.
type loadConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	req  []byte // the request being written, reused
	body []byte // the last answer's body, reused: valid until the next request
}

// do sends one request with a JSON body and returns the answer's status and body.
func (l *loadConn) do(method, path, key string, body []byte) (int, []byte, error) {
	if l.conn == nil {
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			return 0, nil, err
		}
		l.conn, l.r = c, bufio.NewReaderSize(c, 8<<10)
	}
	l.req = append(l.req[:0], method...)
	l.req = append(l.req, ' ')
	l.req = append(l.req, path...)
	l.req = append(l.req, " HTTP/1.1\r\nHost: "...)
	l.req = append(l.req, l.addr...)
	l.req = append(l.req, "\r\nAuthorization: Bearer "...)
	l.req = append(l.req, key...)
	l.req = append(l.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	l.req = strconv.AppendInt(l.req, int64(len(body)), 10)
	l.req = append(l.req, "\r\n\r\n"...)
	l.req = append(l.req, body...)
	if _, err := l.conn.Write(l.req); err != nil {
		l.close()
		return 0, nil, err
	}
	status, err := l.read()
	if err != nil {
		l.close()
		return 0, nil, err
	}
	return status, l.body, nil
}

func (l *loadConn) close() {
	if l.conn != nil {
		l.conn.Close()
		l.conn = nil
	}
}

// read reads one answer: its status line, its headers and its body.
func (l *loadConn) read() (int, error) {
	line, err := l.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("loadConn: bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("loadConn: bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = l.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("loadConn: bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("loadConn: bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	l.body = l.body[:0]
	switch {
	case chunked:
		err = l.readChunks()
	case length >= 0:
		err = l.readN(length)
	case closing:
		// Delimited by the close (RFC 9112 section 6.3): net/http's server answers so a
		// request it refuses itself.
		var rest []byte
		rest, err = io.ReadAll(l.r)
		l.body = append(l.body, rest...)
	default:
		return 0, errors.New("loadConn: an answer without a length")
	}
	if err != nil {
		return 0, err
	}
	if closing {
		l.close()
	}
	return status, nil
}

// readN appends n bytes of body.
func (l *loadConn) readN(n int) error {
	start := len(l.body)
	l.body = append(l.body, make([]byte, n)...)
	_, err := io.ReadFull(l.r, l.body[start:])
	return err
}

// readChunks reads a chunked body (RFC 9112 section 7.1), trailers ignored.
func (l *loadConn) readChunks() error {
	for {
		line, err := l.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("loadConn: bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the blank line
				line, err := l.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := l.readN(int(n)); err != nil {
			return err
		}
		if crlf, err := l.r.ReadSlice('\n'); err != nil || string(crlf) != "\r\n" {
			return fmt.Errorf("loadConn: a chunk without its CRLF")
		}
	}
}

// The load generator reads every way net/http's server frames an answer, and refuses a
// malformed one.
func TestLoadConn(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			w.Write(body)
		case "/chunked":
			w.Write([]byte("first,"))
			w.(http.Flusher).Flush()
			w.Write([]byte("second"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/garbage":
			c, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("NOT HTTP\r\n\r\n")
			buf.Flush()
			c.Close()
		}
	}))
	defer srv.Close()
	l := &loadConn{addr: strings.TrimPrefix(srv.URL, "http://")}
	defer l.close()
	for _, tc := range []struct {
		path, status, body string
		closed             bool
	}{
		{"/length", "201", `{"a":1}`, false},
		{"/chunked", "200", "first,second", false},
		{"/length", "201", `{"a":1}`, false}, // the same connection, still in step
		{"/close", "200", "bye", true},
		{"/length", "201", `{"a":1}`, false}, // a new connection
	} {
		status, body, err := l.do("POST", tc.path, "k", []byte(`{"a":1}`))
		require.NoError(t, err, tc.path)
		assert.Equal(t, tc.status, strconv.Itoa(status), tc.path)
		assert.Equal(t, tc.body, string(body), tc.path)
		assert.Equal(t, tc.closed, l.conn == nil, tc.path)
	}
	_, _, err := l.do("POST", "/garbage", "k", nil)
	require.ErrorContains(t, err, "bad status line")
	require.Nil(t, l.conn, "a connection out of step is dropped")
}

// An answer with neither a length nor chunks ends where the server closes the connection (RFC
// 9112 section 6.3): net/http's server answers so a request it refuses itself (a 400 for a
// malformed request, a 431 for headers too large). Its status is the error the benchmark
// reports, not a framing error that hides it.
func TestLoadConnAnswerToTheClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, buf, _ := w.(http.Hijacker).Hijack()
		buf.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
		buf.Flush()
		c.Close()
	}))
	defer srv.Close()
	l := &loadConn{addr: strings.TrimPrefix(srv.URL, "http://")}
	defer l.close()
	status, body, err := l.do("POST", "/", "k", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "400 Bad Request", string(body))
	assert.Nil(t, l.conn, "the connection ended with the answer")
}
