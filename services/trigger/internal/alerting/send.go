package alerting

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
	"github.com/jobcenter/jobcenter/shared/egress"
)

// SMTP is the mail server alerts are sent through (JOBCENTER_SMTP_*); Addr "" leaves
// e-mail channels undeliverable.
type SMTP struct {
	Addr     string
	From     string
	User     string
	Password string
	// TLS is "starttls" (when the server offers it; required with a user), "tls"
	// (implicit, as on port 465) or "none".
	TLS string
}

// TLS modes of SMTP.
const (
	SMTPStartTLS = "starttls"
	SMTPTLS      = "tls"
	SMTPNone     = "none"
)

// SendTimeout bounds one attempt at a channel.
const SendTimeout = 10 * time.Second

// Sender sends an alert to a channel.
type Sender struct {
	client *http.Client
	smtp   SMTP
	// tlsConfig, when set, is the SMTP server's (tests trust their own certificate).
	tlsConfig *tls.Config
}

// NewSender returns a sender whose webhooks may not reach loopback, private or
// link-local addresses, nor the machine's own, unless private allows them.
func NewSender(private bool, mail SMTP) *Sender {
	c := egress.Client(alert.Reach(private), SendTimeout, "JOBCENTER_ALERTS_ALLOW_PRIVATE=true")
	c.Timeout = SendTimeout
	return &Sender{client: c, smtp: mail}
}

// Send sends a to c; an error says why it was not delivered.
func (s *Sender) Send(ctx context.Context, c alert.Channel, a contracts.Alert) error {
	if c.Type == alert.Email {
		return s.mail(c, a)
	}
	req, err := alert.Build(c, a, time.Now())
	if err != nil {
		return permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, SendTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return permanent(fmt.Errorf("refused: %w", err))
	}
	for k, v := range c.Headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "jobcenter-alerts")
	hr.Header.Set("X-Jobcenter-Alert-Id", a.ID)
	resp, err := s.client.Do(hr)
	if err != nil {
		if r := new(egress.Refused); errors.As(err, &r) {
			return permanent(r)
		}
		// The URL's path and query may hold the webhook's token: the error names the
		// target masked, never the URL (it is recorded and logged).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not reached: POST %s: %w", c.Target(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if why := alert.Accepted(c, resp.StatusCode, body); why != "" {
		return errors.New(why)
	}
	return nil
}

// mail sends a by e-mail through the SMTP server.
func (s *Sender) mail(c alert.Channel, a contracts.Alert) error {
	m := s.smtp
	if m.Addr == "" {
		return permanent(errors.New("not sent: e-mail is not set up on this center (JOBCENTER_SMTP_ADDR is empty)"))
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return permanent(fmt.Errorf("JOBCENTER_SMTP_ADDR: %w", err))
	}
	tc := s.tlsConfig
	if tc == nil {
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{Timeout: SendTimeout}
	var conn net.Conn
	if m.TLS == SMTPTLS {
		conn, err = tls.DialWithDialer(d, "tcp", m.Addr, tc)
	} else {
		conn, err = d.Dial("tcp", m.Addr)
	}
	if err != nil {
		return fmt.Errorf("mail server not reached: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(2 * SendTimeout))
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail server: %w", err)
	}
	defer cl.Close()
	if ok, _ := cl.Extension("STARTTLS"); ok && m.TLS == SMTPStartTLS {
		if err := cl.StartTLS(tc); err != nil {
			return fmt.Errorf("mail server STARTTLS: %w", err)
		}
	}
	if m.User != "" {
		if err := cl.Auth(smtp.PlainAuth("", m.User, m.Password, host)); err != nil {
			return fmt.Errorf("mail server login: %w", err)
		}
	}
	if err := cl.Mail(m.From); err != nil {
		return fmt.Errorf("mail server refused the sender %s: %w", m.From, err)
	}
	for _, to := range c.To {
		if err := cl.Rcpt(to); err != nil {
			return fmt.Errorf("mail server refused %s: %w", to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	if _, err := w.Write(alert.Mail(a, m.From, c.To, time.Now())); err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail server did not take the message: %w", err)
	}
	_ = cl.Quit()
	return nil
}
