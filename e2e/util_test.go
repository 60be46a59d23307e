package e2e_test

import (
	"encoding/json"
	"net/url"
)

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func urlq(s string) string { return url.QueryEscape(s) }
