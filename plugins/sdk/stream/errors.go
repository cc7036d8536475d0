package stream

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Class says what kind of failure an Error is, and so whether a retry can help.
type Class string

const (
	RateLimited Class = "rate_limited" // HTTP 429
	Unavailable Class = "unavailable"  // HTTP 502, 503, 504
	ServerError Class = "server_error" // any other 5xx
	BadRequest  Class = "bad_request"  // any other 4xx, or a request this client cannot send
	Connection  Class = "connection"   // refused, reset, or closed before the response ended
	Timeout     Class = "timeout"      // the idle timeout or the context's deadline passed
	Protocol    Class = "protocol"     // the response is not a well-formed stream of the expected kind
	Canceled    Class = "canceled"     // the context was canceled
	StreamError Class = "stream_error" // the server reported an error inside the stream
)

// String returns the class name, such as "rate_limited", for records and logs.
func (c Class) String() string { return string(c) }

var classText = map[Class]string{
	RateLimited: "rate limited",
	Unavailable: "server unavailable",
	ServerError: "server error",
	BadRequest:  "request rejected",
	Connection:  "connection failed",
	Timeout:     "timed out",
	Protocol:    "protocol error",
	Canceled:    "canceled",
	StreamError: "error in stream",
}

// Error is the error Client.Do returns.
type Error struct {
	Class Class
	// Endpoint is the URL the request went to.
	Endpoint string
	// Status is the HTTP status code, 0 when no response arrived.
	Status int
	// Msg says what went wrong, with the server's own message when it sent one.
	Msg string
	// RetryAfter is the delay that a RateLimited or Unavailable response
	// asked for in its Retry-After header; 0 when it gave none.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("stream: ")
	if e.Endpoint != "" {
		b.WriteString("POST ")
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	if t, ok := classText[e.Class]; ok {
		b.WriteString(t)
	} else {
		b.WriteString(string(e.Class))
	}
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil && !strings.Contains(e.Msg, e.Err.Error()) {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Err.Error(), maxMsg))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err is a failure that a later retry of the same
// request may not meet: rate limiting, an unavailable server, a failed or
// dropped connection, or a timeout.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Class {
	case RateLimited, Unavailable, Connection, Timeout:
		return true
	}
	return false
}

// ClassOf returns the Class of err, or "" when err is not an *Error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return ""
}

// maxMsg bounds a server message quoted in an error.
const maxMsg = 512

// oneLine makes s fit on one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
