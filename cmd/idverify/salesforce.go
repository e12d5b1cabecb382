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
	if !s.Embedded() {
		c, err := sfdc.New(salesforce.ClientConfig(s))
		return c, func() {}, err
	}
	org, err := fakeorg.New(fakeorg.Options{Seed: fakeorg.SeedDemo})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the embedded fake org: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("starting the embedded fake org: %w", err)
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
	c, err := sfdc.New(sfdc.Config{APIVersion: s.APIVersion, Timeout: s.Timeout, Auth: sfdc.Auth{
		Method: sfdc.AuthPassword, LoginURL: base, ClientID: org.ClientID(), ClientSecret: org.ClientSecret(),
		Username: org.Username(), Password: org.Password()}})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}
