package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/idverify/idverify/adapter/salesforce"
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/mocks/fakeorg"
	"github.com/idverify/idverify/sfdc"
)

// connectOrg returns a client of the org s names, and a function that releases what it holds.
// With s.Embedded() it starts the embedded fake org (the demo seed) on a loopback port of its
// own and logs in to it as its demo user.
func connectOrg(s config.Salesforce) (*sfdc.Client, func(), error) {
	o, err := openOrg(s, func(*sfdc.Config) {})
	if err != nil {
		return nil, nil, err
	}
	return o.client, o.stop, nil
}

// orgConn is a client of an org, and the embedded fake org when it is one.
type orgConn struct {
	client *sfdc.Client
	// fake is the embedded fake org, and fakeURL its base URL; nil and "" for a real org.
	fake    *fakeorg.Org
	fakeURL string
	stop    func()
}

// openOrg is connectOrg with the client's configuration changed by tune (its HTTP client and
// hooks) before the client is made.
func openOrg(s config.Salesforce, tune func(*sfdc.Config)) (*orgConn, error) {
	if !s.Embedded() {
		cfg := salesforce.ClientConfig(s)
		tune(&cfg)
		c, err := sfdc.New(cfg)
		return &orgConn{client: c, stop: func() {}}, err
	}
	org, err := fakeorg.New(fakeorg.Options{Seed: fakeorg.SeedDemo})
	if err != nil {
		return nil, fmt.Errorf("starting the embedded fake org: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the embedded fake org: %w", err)
	}
	srv := &http.Server{Handler: org.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = srv.Close()
		}
	}
	base := "http://" + ln.Addr().String()
	cfg := sfdc.Config{APIVersion: s.APIVersion, Timeout: s.Timeout, Auth: sfdc.Auth{
		Method: sfdc.AuthPassword, LoginURL: base, ClientID: org.ClientID(), ClientSecret: org.ClientSecret(),
		Username: org.Username(), Password: org.Password()}}
	tune(&cfg)
	c, err := sfdc.New(cfg)
	if err != nil {
		stop()
		return nil, err
	}
	return &orgConn{client: c, fake: org, fakeURL: base, stop: stop}, nil
}
