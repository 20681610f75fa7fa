// Package smb2 is smbkrb's SMB 3.x client engine, written from MS-SMB2:
// the connection (framing, one receiver goroutine, credits, pipelined
// requests, async replies, cancellation), NEGOTIATE with its contexts and
// the 3.1.1 preauthentication hash, SESSION_SETUP over SPNEGO with a
// Kerberos initiator the caller supplies (mutual authentication, the
// mechListMIC and the final response's signature verified),
// re-authentication on the same session, signing (AES-GMAC, AES-CMAC)
// and encryption (AES-128/256-GCM/CCM), and the file operations package
// smb builds on.
//
// The security policy lives here, in one place: dialects 3.0, 3.0.2 and
// 3.1.1 only; every response after session setup signed or encrypted with
// the session's keys, and encrypted when its request was; guest and
// anonymous sessions refused; a response that breaks the policy ends the
// connection with ErrPolicy and no data from it reaches the caller.
//
// Message layouts are in package wire and the cryptography in package
// smb3crypto; SPNEGO is package spnego.
//
// Files: conn.go (the connection, receiver and sender), credits.go,
// buffers.go, negotiate.go, session.go (setup and re-authentication),
// tree.go, file.go (create, read, write, close, flush, info, directory),
// errors.go.
package smb2
