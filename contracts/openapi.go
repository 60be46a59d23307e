package contracts

import _ "embed"

// OpenAPI is the api's HTTP contract: the OpenAPI 3.1 document (JSON) of every route
// the api serves — both facades, the cron preview, the event stream, the web console,
// health, metrics and the document itself — with the request and answer shapes of every
// status. The api serves it at GET /openapi.json; the e2e tests validate every request
// and answer against it.
//
//go:embed openapi.json
var OpenAPI []byte
