package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server on loopback (emersion/go-smtp) that offers
// AUTH PLAIN only after STARTTLS and keeps what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages []received
	user     string
	password string
}

type received struct {
	from   string
	to     []string
	data   string
	tls    bool
	authed string
}

type session struct {
	box    *mailbox
	conn   *smtp.Conn
	authed string
	msg    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.box.user || pass != s.box.password {
			return errors.New("invalid credentials")
		}
		s.authed = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.authed == "" {
		return smtp.ErrAuthRequired
	}
	s.msg = received{from: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = string(b)
	_, s.msg.tls = s.conn.TLSConnectionState()
	s.msg.authed = s.authed
	s.box.mu.Lock()
	s.box.messages = append(s.box.messages, s.msg)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// startMailbox serves SMTP on a loopback port with a self-signed certificate,
// and returns the address and a client TLS config that trusts it.
func startMailbox(t *testing.T, box *mailbox) (string, *tls.Config) {
	t.Helper()
	cert, pool := selfSigned(t)
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{box: box, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = false // AUTH only over TLS: the client must STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "llmsweep test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestEmailSTARTTLSAndAuth(t *testing.T) {
	box := &mailbox{user: "llmsweep", password: "s3cret"}
	addr, tc := startMailbox(t, box)
	srv, err := ParseSMTPURL("smtp://llmsweep:s3cret@" + addr + "?from=llmsweep@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := sample()
	m.Success, m.Status = false, "Failed"
	m.Failures = []Failure{{Step: "batch-0002", Reason: "pod deleted (spot interruption)"}}
	target := &Email{Server: srv, To: []string{"team@example.com", "oncall@example.com"}, TLS: tc}
	if err := Send(context.Background(), []Target{target}, m, fastRetry); err != nil {
		t.Fatal(err)
	}
	box.mu.Lock()
	defer box.mu.Unlock()
	if len(box.messages) != 1 {
		t.Fatalf("%d messages, want 1", len(box.messages))
	}
	got := box.messages[0]
	if !got.tls || got.authed != "llmsweep" {
		t.Errorf("tls %v, authenticated as %q: want STARTTLS and AUTH as llmsweep", got.tls, got.authed)
	}
	if got.from != "llmsweep@example.com" || strings.Join(got.to, ",") != "team@example.com,oncall@example.com" {
		t.Errorf("envelope from %q to %v", got.from, got.to)
	}
	for _, want := range []string{"Subject: llmsweep: campaign nightly FAILED (run run-1, Failed)",
		"Failed: batch-0002: pod deleted (spot interruption)", "Report: https://reports.example.com/nightly/run-1.html"} {
		if !strings.Contains(got.data, want) {
			t.Errorf("message lacks %q:\n%s", want, got.data)
		}
	}
}

func TestEmailFailures(t *testing.T) {
	box := &mailbox{user: "llmsweep", password: "s3cret"}
	addr, tc := startMailbox(t, box)

	// Wrong password: the server refuses, every attempt.
	srv, _ := ParseSMTPURL("smtp://llmsweep:wrong@" + addr + "?from=llmsweep@example.com")
	err := Send(context.Background(), []Target{&Email{Server: srv, To: []string{"a@example.com"}, TLS: tc}}, sample(), fastRetry)
	if err == nil || !strings.Contains(err.Error(), "notify email via "+addr) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: %v", err)
	}

	// An untrusted certificate is not accepted: no silent fallback to plain text.
	srv, _ = ParseSMTPURL("smtp://llmsweep:s3cret@" + addr + "?from=llmsweep@example.com")
	err = Send(context.Background(), []Target{&Email{Server: srv, To: []string{"a@example.com"}}}, sample(), fastRetry)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if len(box.messages) != 0 {
		t.Errorf("%d messages delivered, want none", len(box.messages))
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
