package console_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/services/api/internal/console"
)

// dictionaries reads the two dictionaries of i18n.js: each language's keys.
func dictionaries(t *testing.T) map[string][]string {
	t.Helper()
	src, _, ok := console.Asset("i18n.js")
	if !ok {
		t.Fatal("no i18n.js")
	}
	langs := map[string][]string{}
	lang := ""
	block := regexp.MustCompile(`^  (\w+): \{$`)
	entry := regexp.MustCompile(`^    "([\w.]+)": "`)
	for line := range strings.SplitSeq(string(src), "\n") {
		if m := block.FindStringSubmatch(line); m != nil {
			lang = m[1]
		} else if m := entry.FindStringSubmatch(line); m != nil && lang != "" {
			langs[lang] = append(langs[lang], m[1])
		}
	}
	return langs
}

func TestEveryStringIsInBothLanguagesAndEveryKeyUsedIsDefined(t *testing.T) {
	langs := dictionaries(t)
	en, zh := langs["en"], langs["zh"]
	if len(en) < 50 || len(langs) != 2 {
		t.Fatalf("dictionaries: %d languages, %d English strings", len(langs), len(en))
	}
	slices.Sort(en)
	slices.Sort(zh)
	if !slices.Equal(en, zh) {
		t.Fatalf("the dictionaries differ:\nen: %v\nzh: %v", en, zh)
	}
	js, _, _ := console.Asset("console.js")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`data-i18n="([\w.]+)"`).FindAllStringSubmatch(string(console.Page()), -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\bt\("([\w.]+)"`).FindAllStringSubmatch(string(js), -1) {
		used[m[1]] = true
	}
	for key := range used {
		if strings.HasSuffix(key, ".") { // a prefix completed at run time: "status." + exestatus
			if !slices.ContainsFunc(en, func(k string) bool { return strings.HasPrefix(k, key) }) {
				t.Errorf("no string starts with %q", key)
			}
			continue
		}
		if _, ok := slices.BinarySearch(en, key); !ok {
			t.Errorf("%q is used but in no dictionary", key)
		}
	}
}

func TestThePageLoadsOnlyItsOwnFiles(t *testing.T) {
	page := string(console.Page())
	for _, name := range console.Assets() {
		if !strings.Contains(page, `"ui/`+name+`"`) {
			t.Errorf("the page does not load %s", name)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("the page refers to another site or holds inline code (the Content-Security-Policy forbids both)")
	}
}
