package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/shared/job"
)

// FuzzDecodeBodies feeds any bytes to the decoders of both facades: each answers a value
// or a 4xx apiError (or a FieldError, which maps to 400), never a panic or a 5xx.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{
		`{"pid":"p","name":"n","trigger":"interval","seconds":60,"code":"x"}`,
		`{"xw_quartz":{"opttype":"save","jobname":"j","cronexpression":"0 0 12 * * ?","bizcode":"b"}}`,
		`{"xw_quartz":{"opttype":"quaryjournal","jobinfoid":"x","pageindex":"1","pagesize":1e3}}`,
		`{"codes":"a, b,,c","jobtype":""}`, `{"seconds":1.5}`, `[`, "\xff", `{} {}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	now := time.Date(2025, 7, 1, 4, 0, 0, 0, time.UTC)
	check := func(t *testing.T, err error) {
		t.Helper()
		var ae *apiError
		var fe *job.FieldError
		switch {
		case err == nil, errors.As(err, &fe):
		case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
		default:
			t.Fatalf("not a 4xx: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := func() echo.Context {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
			req.Header.Set("Content-Type", "application/json")
			return e.NewContext(req, httptest.NewRecorder())
		}
		var b jobBody
		err := decodeBody(ctx(), 1<<20, &b)
		if err == nil {
			var in job.Input
			if in, err = b.input(); err == nil {
				_, err = in.ForCreate(now, time.UTC)
			}
		}
		check(t, err)
		var q struct {
			XwQuartz *quartzRequest `json:"xw_quartz"`
		}
		if err := decodeBody(ctx(), 1<<20, &q); err == nil && q.XwQuartz != nil {
			_, err = rawInt("pagesize", q.XwQuartz.PageSize, 10, 1, 1000)
			check(t, err)
			_, err = job.QuartzInput{JobName: deref(q.XwQuartz.JobName), CronExpression: deref(q.XwQuartz.CronExpression), BizCode: deref(q.XwQuartz.BizCode)}.Spec(now, time.UTC)
			check(t, err)
		} else {
			check(t, err)
		}
		var s statusBody
		check(t, decodeBody(ctx(), 1<<20, &s))
	})
}
