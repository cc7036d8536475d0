package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/cenkalti/backoff/v5"
	mail "github.com/wneessen/go-mail"
)

// Email sends through an SMTP server. STARTTLS is mandatory on smtp:// (a
// server that does not offer it is an error, never a plain-text fallback), and
// smtps:// uses implicit TLS; either authenticates when the URL has a user.
type Email struct {
	Server *SMTPServer
	To     []string
	// TLS overrides the TLS configuration (tests trust their own CA here);
	// nil verifies the server against the system roots.
	TLS *tls.Config
}

// SMTPServer is a parsed SMTP URL:
//
//	smtp://USER:PASSWORD@HOST:587?from=ADDRESS    STARTTLS (port 587 by default)
//	smtps://USER:PASSWORD@HOST:465?from=ADDRESS   implicit TLS (port 465 by default)
//
// The URL is a secret and comes from the environment or a file, never from the
// campaign.
type SMTPServer struct {
	Host     string
	Port     int
	Implicit bool // smtps://
	User     string
	Password string
	From     string
}

// ParseSMTPURL parses an SMTP URL; its errors never repeat the password.
func ParseSMTPURL(raw string) (*SMTPServer, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("not a URL (want smtp://USER:PASSWORD@HOST:PORT?from=ADDRESS)")
	}
	s := &SMTPServer{Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.Implicit = 465, true
	default:
		return nil, fmt.Errorf("scheme %q: want smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	if s.Host == "" {
		return nil, errors.New("the URL has no host")
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return nil, fmt.Errorf("bad port %q", p)
		}
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	q := u.Query()
	s.From = q.Get("from")
	if s.From == "" {
		return nil, errors.New("the URL needs ?from=ADDRESS, the sender")
	}
	for k := range q {
		if k != "from" {
			return nil, fmt.Errorf("unknown parameter %q (the only one is from)", k)
		}
	}
	return s, nil
}

// Name is the server and recipients, without credentials.
func (e *Email) Name() string {
	return fmt.Sprintf("email via %s to %s", net.JoinHostPort(e.Server.Host, strconv.Itoa(e.Server.Port)), strings.Join(e.To, ", "))
}

// Send sends the message once.
func (e *Email) Send(ctx context.Context, m Message) error {
	msg := mail.NewMsg()
	if err := msg.From(e.Server.From); err != nil {
		return backoff.Permanent(fmt.Errorf("sender %q: %v", e.Server.From, err))
	}
	if err := msg.To(e.To...); err != nil {
		return backoff.Permanent(fmt.Errorf("recipients: %v", err))
	}
	msg.Subject(m.Title())
	msg.SetBodyString(mail.TypeTextPlain, strings.Join(m.Lines(), "\n")+"\n")

	tc := e.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc = tc.Clone()
	tc.ServerName = e.Server.Host
	opts := []mail.Option{mail.WithPort(e.Server.Port), mail.WithTLSConfig(tc), mail.WithTimeout(DefaultTimeout)}
	if e.Server.Implicit {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.Server.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.Server.User), mail.WithPassword(e.Server.Password))
	}
	c, err := mail.NewClient(e.Server.Host, opts...)
	if err != nil {
		return backoff.Permanent(err)
	}
	return c.DialAndSendWithContext(ctx, msg)
}
