package job

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func httpInput(call HTTPInput) Input {
	return Input{Pid: "p", Name: "n", Trigger: "interval", Seconds: new(int64(60)), HTTP: &call}
}

func TestAnHTTPCallIsReadCanonicalAndItsSecretsAreWrittenNeverReadBack(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	in := httpInput(HTTPInput{Method: "post", URL: " https://api.example.com/x ", Headers: map[string]string{"authorization": "Bearer s", "content-type": "text/plain"}})
	s, err := in.ForCreate(now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := &HTTPCall{Method: "POST", URL: "https://api.example.com/x", Headers: map[string]string{"Authorization": "Bearer s", "Content-Type": "text/plain"}}
	if !reflect.DeepEqual(s.Target.HTTP, want) {
		t.Fatalf("read as %+v", s.Target.HTTP)
	}
	if got := s.Target.HTTP.Redacted().Headers; got["Authorization"] != Masked || got["Content-Type"] != "text/plain" {
		t.Fatalf("redacted: %v", got)
	}
	if s.Target.HTTP.Headers["Authorization"] != "Bearer s" {
		t.Fatal("Redacted changed the call it was given")
	}
	// An update sending the masked value keeps the job's; a masked value of a header the
	// job does not have is refused, on create too.
	upd := httpInput(HTTPInput{URL: "https://api.example.com/y", Headers: map[string]string{"Authorization": Masked}})
	u, err := upd.ForUpdate(s, now, time.UTC)
	if err != nil || u.Target.HTTP.Headers["Authorization"] != "Bearer s" || u.Target.HTTP.Method != "GET" {
		t.Fatalf("update: %+v %v", u.Target.HTTP, err)
	}
	var fe *FieldError
	if _, err := upd.ForCreate(now, time.UTC); !errors.As(err, &fe) || fe.Field != "http.headers.Authorization" {
		t.Fatalf("a masked value on create: %v", err)
	}
	upd.Kept = s.Target.HTTP // an import's job, found by id
	if c, err := upd.ForCreate(now, time.UTC); err != nil || c.Target.HTTP.Headers["Authorization"] != "Bearer s" {
		t.Fatalf("an import keeping the job's secret: %v", err)
	}
	twice := httpInput(HTTPInput{URL: "https://a.example/", Headers: map[string]string{"X-A": "1", "x-a": "2"}})
	if _, err := twice.ForCreate(now, time.UTC); !errors.As(err, &fe) || fe.Field[:13] != "http.headers." {
		t.Fatalf("a header named twice: %v", err)
	}
}

func TestAnHTTPCallSucceedsOnTheStatusesItExpects(t *testing.T) {
	c := HTTPCall{}
	for status, ok := range map[int]bool{200: true, 204: true, 299: true, 301: false, 404: false, 500: false} {
		if c.Succeeded(status) != ok {
			t.Errorf("no expect_status, %d: %v", status, !ok)
		}
	}
	c.ExpectStatus = []int{202, 404}
	if !c.Succeeded(404) || c.Succeeded(200) || c.Expected() != "202, 404" {
		t.Fatalf("expect_status %v", c.ExpectStatus)
	}
}
