package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
)

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func urlq(s string) string { return url.QueryEscape(s) }

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
