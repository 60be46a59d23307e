// Command healthcheck is the container health check of the service images, which have
// no shell and no curl: `healthcheck URL` GETs the URL and exits 0 on a 2xx answer
// within the timeout, 1 otherwise, with the reason on stderr.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// timeout bounds the whole check; Docker's own health check timeout should exceed it.
const timeout = 3 * time.Second

func main() {
	if err := run(context.Background(), os.Args[1:], http.DefaultClient); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, hc *http.Client) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, the URL to check, such as http://127.0.0.1:8001/readyz; got %q", args)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %d: %s", args[0], resp.StatusCode, body)
	}
	return nil
}
