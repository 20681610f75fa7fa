package kkdcp_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/smbkrb/smbkrb/kkdcp"
)

// A client sends one Kerberos request, built by MIT krb5, through a KDC proxy.
func ExampleClient() {
	// Trust a private CA instead of the system's roots.
	pem, err := os.ReadFile("/etc/ssl/corp-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)

	c := &kkdcp.Client{
		URL:     "https://kdcproxy.corp.example.com/KdcProxy",
		RootCAs: roots,
	}

	var asReq []byte // an AS-REQ as DER, from krb5's KDC send hook
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	asRep, err := c.Exchange(ctx, "CORP.EXAMPLE.COM", asReq)
	if err != nil {
		log.Fatal(err) // e.g. kkdcp: POST https://kdcproxy.corp.example.com/KdcProxy: server answered 503 ...
	}
	_ = asRep // an AS-REP or KRB-ERROR, for krb5
}

// A KDC proxy for two realms, served over TLS. Clients reach it at
// https://kdcproxy.corp.example.com/KdcProxy.
func ExampleHandler() {
	proxy := &kkdcp.Handler{
		Realms: map[string][]string{
			"CORP.EXAMPLE.COM": {"dc1.corp.example.com:88", "dc2.corp.example.com:88"},
			"LAB.EXAMPLE.COM":  {"kdc.lab.example.com:88"},
		},
		KDCTimeout: 5 * time.Second,
	}
	mux := http.NewServeMux()
	mux.Handle("POST /KdcProxy", proxy)
	srv := &http.Server{
		Addr:              ":443",
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	log.Fatal(srv.ListenAndServeTLS("/etc/kdcproxy/cert.pem", "/etc/kdcproxy/key.pem"))
}

// The wire form of a request: kerb-message carries the length prefix.
func ExampleMessage_Marshal() {
	m := &kkdcp.Message{
		KerbMessage:  []byte{0x6a, 0x01, 0x00}, // stands for an AS-REQ
		TargetDomain: "EXAMPLE.COM",
	}
	b, err := m.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", b)

	back, err := kkdcp.Unmarshal(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s % x\n", back.TargetDomain, back.KerbMessage)
	// Output:
	// 30 1a a0 09 04 07 00 00 00 03 6a 01 00 a1 0d 1b 0b 45 58 41 4d 50 4c 45 2e 43 4f 4d
	// EXAMPLE.COM 6a 01 00
}
