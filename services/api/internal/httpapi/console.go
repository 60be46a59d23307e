package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/jobcenter/jobcenter/services/api/internal/console"
)

// consoleHeaders keep the page to its own origin: its scripts and styles are files of
// its own (no inline code), it talks only to this api, and no other site may frame it.
func consoleHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// consolePage answers GET /ui: the web console.
func (h *handlers) consolePage(c echo.Context) error {
	consoleHeaders(c)
	return c.Blob(http.StatusOK, echo.MIMETextHTMLCharsetUTF8, console.Page())
}

// consoleAsset answers GET /ui/{file}: a script or style sheet of the console.
func (h *handlers) consoleAsset(c echo.Context) error {
	data, ct, ok := console.Asset(c.Param("file"))
	if !ok {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Field: "file", Message: "the console has no such file"}
	}
	consoleHeaders(c)
	return c.Blob(http.StatusOK, ct, data)
}
