// Package notifytest gives tests a local PagerDuty Events API v2 endpoint
// that keeps the API's contract (developer.pagerduty.com, Events API v2:
// "Send an Alert Event" and "Response Codes & Retry Logic"): POST /v2/enqueue
// with a JSON event; 202 with status "success" and the dedup key; 400 with
// status "invalid event" and a list of errors; 429 when throttled, which the
// sender is to retry. It keeps the alerts' state by dedup key as PagerDuty
// does: a trigger opens an alert or adds to the open one, a resolve closes it,
// and a resolve without an open alert is accepted and dropped.
package notifytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"unicode/utf8"
)

// Event is an accepted event, as received.
type Event struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Component     string         `json:"component"`
		Group         string         `json:"group"`
		Class         string         `json:"class"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	Client    string `json:"client"`
	ClientURL string `json:"client_url"`
	Links     []struct {
		Href string `json:"href"`
		Text string `json:"text"`
	} `json:"links"`
	Images []map[string]any `json:"images"`
}

// Alert is the state of one dedup key.
type Alert struct {
	Open     bool
	Triggers int // trigger events it received
	Resolves int
}

// PagerDuty is the endpoint; its URL is Server.URL + "/v2/enqueue".
type PagerDuty struct {
	Server *httptest.Server
	URL    string

	mu       sync.Mutex
	throttle int
	requests int
	events   []Event
	alerts   map[string]*Alert
}

// NewPagerDuty starts the endpoint; Close it when done.
func NewPagerDuty() *PagerDuty {
	p := &PagerDuty{alerts: map[string]*Alert{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.Server.URL + "/v2/enqueue"
	return p
}

// Close stops the endpoint.
func (p *PagerDuty) Close() { p.Server.Close() }

// Throttle answers the next n requests with 429.
func (p *PagerDuty) Throttle(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle = n
}

// Requests counts the requests received, throttled and invalid ones included.
func (p *PagerDuty) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Events are the accepted events, in order.
func (p *PagerDuty) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Alert returns the state of a dedup key (zero when it never had an alert).
func (p *PagerDuty) Alert(key string) Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.alerts[key]; a != nil {
		return *a
	}
	return Alert{}
}

type reply struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

func write(w http.ResponseWriter, code int, r reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(r)
}

var severities = map[string]bool{"critical": true, "error": true, "warning": true, "info": true}

func (p *PagerDuty) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if r.URL.Path != "/v2/enqueue" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if p.throttle > 0 {
		p.throttle--
		write(w, http.StatusTooManyRequests, reply{Status: "throttle event", Message: "Too many API calls at a time: retry later"})
		return
	}
	var e Event
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 512<<10)).Decode(&e); err != nil {
		write(w, http.StatusBadRequest, reply{Status: "invalid event", Message: "Event object is invalid", Errors: []string{"invalid JSON: " + err.Error()}})
		return
	}
	var errs []string
	if len(e.RoutingKey) != 32 {
		errs = append(errs, "routing_key: the length is incorrect (should be 32 characters)")
	}
	switch e.EventAction {
	case "trigger":
		if e.Payload == nil {
			errs = append(errs, "payload is required for a trigger")
			break
		}
		if n := utf8.RuneCountInString(e.Payload.Summary); n == 0 || n > 1024 {
			errs = append(errs, "payload.summary is required and may hold at most 1024 characters")
		}
		if e.Payload.Source == "" {
			errs = append(errs, "payload.source is required")
		}
		if !severities[e.Payload.Severity] {
			errs = append(errs, "payload.severity must be one of critical, error, warning, info")
		}
	case "acknowledge", "resolve":
		if e.DedupKey == "" {
			errs = append(errs, "dedup_key is required for "+e.EventAction)
		}
	default:
		errs = append(errs, "event_action must be one of trigger, acknowledge, resolve")
	}
	if utf8.RuneCountInString(e.DedupKey) > 255 {
		errs = append(errs, "dedup_key may hold at most 255 characters")
	}
	if len(errs) > 0 {
		write(w, http.StatusBadRequest, reply{Status: "invalid event", Message: "Event object is invalid", Errors: errs})
		return
	}
	if e.DedupKey == "" { // a trigger without a key opens a new alert
		b := make([]byte, 16)
		rand.Read(b)
		e.DedupKey = hex.EncodeToString(b)
	}
	a := p.alerts[e.DedupKey]
	if a == nil {
		a = &Alert{}
		p.alerts[e.DedupKey] = a
	}
	switch e.EventAction {
	case "trigger":
		a.Open = true
		a.Triggers++
	case "resolve":
		if a.Open {
			a.Resolves++
		}
		a.Open = false
	}
	p.events = append(p.events, e)
	write(w, http.StatusAccepted, reply{Status: "success", Message: "Event processed", DedupKey: e.DedupKey})
}
