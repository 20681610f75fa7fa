package samba

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// SessionStatus is one SMB session as the DC's smbd sees it (smbstatus).
type SessionStatus struct {
	// ID is the session's id: the SessionId of the SMB2 header and of the
	// transform header on the wire. It stays the same when the client
	// re-authenticates on the session.
	ID uint64
	// PID is the process id of the smbd serving the connection.
	PID int
	// Username is the session's user, such as `LAB\alice`; empty while
	// the session setup has not finished.
	Username string
	// RemoteAddr is the client's address and port, such as
	// "127.0.0.1:37364".
	RemoteAddr string
	// Dialect is the negotiated dialect, such as "SMB3_11" or "SMB3_00".
	Dialect string
	// Signing is the signing algorithm, such as "AES-128-GMAC",
	// "AES-128-CMAC" or "HMAC-SHA256"; "" if the session does not sign.
	Signing string
	// SigningDegree is "full" (every message is signed), "partial" or
	// "none".
	SigningDegree string
	// Encryption is the cipher, such as "AES-128-GCM" or "AES-256-GCM";
	// "" if the session does not encrypt (smbstatus shows "-").
	Encryption string
	// EncryptionDegree is "full" (the session encrypts everything),
	// "partial" or "none". A session that encrypts only its tree connect
	// to a share requiring encryption shows "none" here: look at
	// TreeStatus.Encryption.
	EncryptionDegree string
	// Trees are the session's tree connects, by share name.
	Trees []TreeStatus
}

// TreeStatus is one tree connect of a session.
type TreeStatus struct {
	// ID is Samba's global id of the tree connect (smbstatus's tcon_id).
	// It is not the TreeId on the wire, which smbstatus does not show.
	ID uint32
	// Share is the share's name, such as "encrypted" or "IPC$".
	Share string
	// Encryption is the cipher of a tree connect to a share that requires
	// encryption (smb encrypt = required), "" for other shares, even in a
	// session that encrypts everything (see SessionStatus.Encryption).
	// Samba 4.17 writes "???" here for the AES-256 ciphers: it names only
	// AES-128-CCM and AES-128-GCM for tree connects.
	Encryption string
	// EncryptionDegree is "full" for a share that requires encryption,
	// "none" otherwise.
	EncryptionDegree string
	// Signing is the tree connect's signing algorithm; Samba 4.17 shows
	// none ("") for the tree connects of signed sessions, whose signing is
	// the session's.
	Signing string
	// SigningDegree is "full", "partial" or "none".
	SigningDegree string
}

// Sessions lists the DC's SMB sessions, with their tree connects, from
// smbstatus --json run inside the DC's mount namespace. The list is sorted
// by ID. A session appears once its session setup has started; a client
// that has just connected may not be listed yet.
func (d *DC) Sessions() ([]SessionStatus, error) {
	out, err := d.InNamespace("smbstatus", "--json")
	if err != nil {
		return nil, err
	}
	return parseStatus([]byte(out))
}

// statusJSON is the part of smbstatus --json (Samba 4.17) that Sessions
// reads. Ids are strings there, some numbers are numbers: jsonNum takes
// both.
type statusJSON struct {
	Sessions map[string]struct {
		SessionID jsonNum `json:"session_id"`
		ServerID  struct {
			PID jsonNum `json:"pid"`
		} `json:"server_id"`
		Username      string     `json:"username"`
		RemoteMachine string     `json:"remote_machine"`
		Hostname      string     `json:"hostname"`
		Dialect       string     `json:"session_dialect"`
		Encryption    cryptoJSON `json:"encryption"`
		Signing       cryptoJSON `json:"signing"`
	} `json:"sessions"`
	Tcons map[string]struct {
		Service    string     `json:"service"`
		TconID     jsonNum    `json:"tcon_id"`
		SessionID  jsonNum    `json:"session_id"`
		Encryption cryptoJSON `json:"encryption"`
		Signing    cryptoJSON `json:"signing"`
	} `json:"tcons"`
}

type cryptoJSON struct {
	Cipher string `json:"cipher"`
	Degree string `json:"degree"`
}

// jsonNum is an unsigned number written as a JSON number or a string.
type jsonNum string

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = jsonNum(s)
		return nil
	}
	*n = jsonNum(b)
	return nil
}

func (n jsonNum) uint(bits int) (uint64, error) {
	return strconv.ParseUint(string(n), 10, bits)
}

// parseStatus reads smbstatus --json output. smbstatus may print notes
// before the JSON object; they are skipped.
func parseStatus(out []byte) ([]SessionStatus, error) {
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return nil, fmt.Errorf("samba: smbstatus --json printed no JSON: %s", tail(out, 500))
	}
	var st statusJSON
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&st); err != nil {
		return nil, fmt.Errorf("samba: smbstatus --json: %w", err)
	}
	byID := map[uint64]*SessionStatus{}
	var list []*SessionStatus
	for key, s := range st.Sessions {
		id, err := s.SessionID.uint(64)
		if err != nil {
			return nil, fmt.Errorf("samba: smbstatus --json: session %q: bad session_id %q", key, s.SessionID)
		}
		pid, _ := s.ServerID.PID.uint(31)
		ss := &SessionStatus{
			ID:               id,
			PID:              int(pid),
			Username:         s.Username,
			RemoteAddr:       remoteAddr(s.Hostname, s.RemoteMachine),
			Dialect:          s.Dialect,
			Signing:          noDash(s.Signing.Cipher),
			SigningDegree:    s.Signing.Degree,
			Encryption:       noDash(s.Encryption.Cipher),
			EncryptionDegree: s.Encryption.Degree,
		}
		byID[id] = ss
		list = append(list, ss)
	}
	for key, t := range st.Tcons {
		sid, err := t.SessionID.uint(64)
		if err != nil {
			return nil, fmt.Errorf("samba: smbstatus --json: tree connect %q: bad session_id %q", key, t.SessionID)
		}
		tid, err := t.TconID.uint(32)
		if err != nil {
			return nil, fmt.Errorf("samba: smbstatus --json: tree connect %q: bad tcon_id %q", key, t.TconID)
		}
		ss := byID[sid]
		if ss == nil {
			// A tree connect whose session smbstatus did not list
			// (it went away between the two tables).
			continue
		}
		ss.Trees = append(ss.Trees, TreeStatus{
			ID:               uint32(tid),
			Share:            t.Service,
			Encryption:       noDash(t.Encryption.Cipher),
			EncryptionDegree: t.Encryption.Degree,
			Signing:          noDash(t.Signing.Cipher),
			SigningDegree:    t.Signing.Degree,
		})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	sessions := make([]SessionStatus, len(list))
	for i, s := range list {
		sort.Slice(s.Trees, func(a, b int) bool {
			if s.Trees[a].Share != s.Trees[b].Share {
				return s.Trees[a].Share < s.Trees[b].Share
			}
			return s.Trees[a].ID < s.Trees[b].ID
		})
		sessions[i] = *s
	}
	return sessions, nil
}

// noDash maps smbstatus's "-" (no algorithm) to "".
func noDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// remoteAddr turns smbstatus's "ipv4:127.0.0.1:37364" or
// "ipv6:::1:37364" into a host:port address; anything else is returned as
// it is, or the remote machine if there is nothing else.
func remoteAddr(hostname, machine string) string {
	for _, p := range []string{"ipv4:", "ipv6:"} {
		if rest, ok := strings.CutPrefix(hostname, p); ok {
			i := strings.LastIndexByte(rest, ':')
			if i < 0 {
				return rest
			}
			host := strings.Trim(rest[:i], "[]")
			if net.ParseIP(host) == nil {
				return hostname
			}
			return net.JoinHostPort(host, rest[i+1:])
		}
	}
	if hostname == "" {
		return machine
	}
	return hostname
}

// Tree returns the session's tree connect to share, and whether it has
// one.
func (s SessionStatus) Tree(share string) (TreeStatus, bool) {
	for _, t := range s.Trees {
		if strings.EqualFold(t.Share, share) {
			return t, true
		}
	}
	return TreeStatus{}, false
}
