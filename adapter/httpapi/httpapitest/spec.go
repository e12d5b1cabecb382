package httpapitest

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/docs"
)

// The spec, loaded once, and its router.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// Spec returns docs/openapi.yaml, loaded and validated by kin-openapi, and a router over it.
func Spec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(docs.OpenAPI)
		if specErr == nil {
			specErr = specDoc.Validate(loader.Context)
		}
		if specErr == nil {
			specRouter, specErr = legacy.NewRouter(specDoc)
		}
	})
	require.NoError(t, specErr)
	return specDoc, specRouter
}

// SpecChecker is an http.RoundTripper that checks every answer (and, with Requests, every
// request) against docs/openapi.yaml with kin-openapi, failing t where one does not conform,
// then hands the request to http.DefaultTransport.
type SpecChecker struct {
	T testing.TB
	// Requests checks the requests too: leave it false for requests that are wrong on purpose.
	Requests bool
}

// RoundTrip implements http.RoundTripper.
func (c *SpecChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	t := c.T
	_, router := Spec(t)
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	reset := func() { req.Body = io.NopCloser(bytes.NewReader(body)) }
	reset()
	route, params, err := router.FindRoute(req)
	if c.Requests {
		assert.NoError(t, err, "%s %s is not in the spec", req.Method, req.URL.Path)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if c.Requests && route != nil {
		assert.NoError(t, openapi3filter.ValidateRequest(req.Context(), in), "request %s %s %s", req.Method, req.URL.Path, body)
		reset()
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || route == nil {
		return res, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(data)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	assert.NoError(t, openapi3filter.ValidateResponse(req.Context(), out), "answer %d to %s %s: %s", res.StatusCode, req.Method, req.URL.Path, data)
	return res, nil
}
