package contracts_test

import (
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/contracts"
)

func TestATokenNeverEscapesItsPlaceInASubject(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"b90ba90e-2431-11f0", "tenant_1", "a.b", "*", ">", "a b", "a\tb", "a\x00b", "", "租户", "=x", "a.>"} {
		tok := contracts.Token(id)
		if tok == "" || strings.ContainsAny(tok, ".*> \t\r\n\x00") {
			t.Errorf("Token(%q) = %q can escape a subject token", id, tok)
		}
		back, ok := contracts.ParseToken(tok)
		if !ok || back != id {
			t.Errorf("ParseToken(Token(%q)) = %q, %v", id, back, ok)
		}
	}
	if contracts.Token("abc-1_2") != "abc-1_2" {
		t.Error("plain ids must stay readable")
	}
	if contracts.Token("=YQ") == contracts.Token("a") {
		t.Error("an encoded id collides with a plain one")
	}
	if got := contracts.FireSubject("a.b", "j"); strings.Count(got, ".") != 3 {
		t.Errorf("FireSubject with a dotted tenant has the wrong shape: %s", got)
	}
}
