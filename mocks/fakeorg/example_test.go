package fakeorg_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/idverify/idverify/mocks/fakeorg"
)

// A test serves a fake org with httptest, logs in and counts the API calls it made.
func Example() {
	org, err := fakeorg.New(fakeorg.Options{Seed: fakeorg.SeedDemo})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(org.Handler())
	defer srv.Close()

	resp, err := http.PostForm(srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {fakeorg.DemoClientID}, "client_secret": {fakeorg.DemoClientSecret},
		"username": {fakeorg.DemoUsername}, "password": {fakeorg.DemoPassword}})
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, org.Count(fakeorg.KindToken))
	// Output: 200 1
}
