// Package console is the web console: plain HTML, JavaScript and CSS, embedded in the
// api and served at /ui. There is no build step: the files under static/ are what the
// browser gets. The page talks to the api's own routes (the job-center facade, the
// Quartz facade for cron schedules, the cron preview, and GET /api/v1/events for live
// updates), with the project and key the user enters.
package console

import (
	"embed"
	"path"
)

//go:embed static
var files embed.FS

// Page is the console's HTML page, served at /ui.
func Page() []byte {
	b, _ := files.ReadFile("static/index.html")
	return b
}

// types are the content types of the assets the page loads; a name not listed is not
// an asset.
var types = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// Asset returns one of the files the page loads, by its name under /ui/, with its
// content type; ok is false when there is no such asset.
func Asset(name string) (data []byte, contentType string, ok bool) {
	ct, known := types[path.Ext(name)]
	if !known || name != path.Base(name) {
		return nil, "", false
	}
	b, err := files.ReadFile("static/" + name)
	if err != nil {
		return nil, "", false
	}
	return b, ct, true
}

// Assets lists the names Asset serves.
func Assets() []string {
	entries, _ := files.ReadDir("static")
	var out []string
	for _, e := range entries {
		if _, ok := types[path.Ext(e.Name())]; ok {
			out = append(out, e.Name())
		}
	}
	return out
}
