package entra

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smbkrb/smbkrb/krb5"
)

// sessionFile holds a saved sign-in, next to the device identity.
const sessionFile = "session.json"

// savedCred is a credential as session.json keeps it.
type savedCred struct {
	Client     string    `json:"client"`
	Server     string    `json:"server"`
	Enctype    int32     `json:"enctype"`
	SessionKey string    `json:"session_key"`
	AuthTime   time.Time `json:"authtime"`
	StartTime  time.Time `json:"starttime,omitzero"`
	EndTime    time.Time `json:"endtime"`
	RenewTill  time.Time `json:"renew_till,omitzero"`
	Flags      uint32    `json:"flags"`
	Ticket     string    `json:"ticket"`
}

type savedSession struct {
	User          string     `json:"user"`
	DeviceID      string     `json:"device_id"`
	PRT           string     `json:"prt"`
	SessionKey    string     `json:"session_key"`
	PRTExpires    time.Time  `json:"prt_expires"`
	TopLevelNames []string   `json:"kerberos_top_level_names,omitempty"`
	TGT           *savedCred `json:"tgt_cloud,omitempty"`
	ADTGT         *savedCred `json:"tgt_ad,omitempty"`
}

func saveCred(c *krb5.Credential) *savedCred {
	if c == nil {
		return nil
	}
	return &savedCred{
		Client: c.Client, Server: c.Server, Enctype: int32(c.Enctype),
		SessionKey: base64.StdEncoding.EncodeToString(c.SessionKey),
		AuthTime:   c.AuthTime, StartTime: c.StartTime, EndTime: c.EndTime, RenewTill: c.RenewTill,
		Flags: uint32(c.Flags), Ticket: base64.StdEncoding.EncodeToString(c.Ticket),
	}
}

func (sc *savedCred) load() (*krb5.Credential, error) {
	if sc == nil {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(sc.SessionKey)
	if err != nil {
		return nil, err
	}
	tkt, err := base64.StdEncoding.DecodeString(sc.Ticket)
	if err != nil {
		return nil, err
	}
	return &krb5.Credential{
		Client: sc.Client, Server: sc.Server, Enctype: krb5.Enctype(sc.Enctype), SessionKey: key,
		AuthTime: sc.AuthTime, StartTime: sc.StartTime, EndTime: sc.EndTime, RenewTill: sc.RenewTill,
		Flags: krb5.TicketFlags(sc.Flags), Ticket: tkt,
	}, nil
}

// Save writes the session (PRT, session key, TGTs) into dir, the device's
// directory, with mode 0600, replacing an earlier one whole. A later
// process resumes it with LoadSignIn without a new sign-in.
func (s *SignIn) Save(dir string) error {
	s.mu.Lock()
	if s.sessionKey == nil {
		s.mu.Unlock()
		return errors.New("entra: save session: the session is closed")
	}
	ss := savedSession{
		User: s.User, PRT: s.prt, SessionKey: base64.StdEncoding.EncodeToString(s.sessionKey),
		PRTExpires: s.prtExpires, TopLevelNames: s.topLevelNames, TGT: saveCred(s.tgt), ADTGT: saveCred(s.adTGT),
	}
	if s.Device != nil {
		ss.DeviceID = s.Device.ID
	}
	s.mu.Unlock()
	data, err := json.MarshalIndent(&ss, "", "  ")
	if err != nil {
		return fmt.Errorf("entra: save session: %w", err)
	}
	defer clear(data)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("entra: save session: %w", err)
	}
	if err := writeSecret(filepath.Join(dir, sessionFile), append(data, '\n')); err != nil {
		return fmt.Errorf("entra: save session: %w", err)
	}
	return nil
}

// ErrNoSignIn means a directory holds no saved sign-in.
var ErrNoSignIn = errors.New("no saved sign-in")

// LoadSignIn resumes the sign-in Save wrote into dir for device d. It
// fails with ErrNoSignIn when there is none, and with ErrSignInExpired
// when its PRT has expired.
func LoadSignIn(dir string, d *Device) (*SignIn, error) {
	fail := func(err error) (*SignIn, error) { return nil, fmt.Errorf("entra: load session from %s: %w", dir, err) }
	data, err := readSecret(filepath.Join(dir, sessionFile))
	if errors.Is(err, os.ErrNotExist) {
		return fail(fmt.Errorf("%w (sign in first: smbkrb entra login)", ErrNoSignIn))
	}
	if err != nil {
		return fail(err)
	}
	defer clear(data)
	var ss savedSession
	if err := json.Unmarshal(data, &ss); err != nil {
		return fail(fmt.Errorf("%s: %v", sessionFile, err))
	}
	if d == nil || ss.DeviceID != d.ID {
		return fail(errors.New("the saved sign-in belongs to another device: sign in again"))
	}
	if ss.PRT == "" {
		return fail(fmt.Errorf("%s has no PRT", sessionFile))
	}
	if !ss.PRTExpires.IsZero() && time.Now().After(ss.PRTExpires) {
		return fail(&Error{Op: "resume sign-in", Err: ErrSignInExpired})
	}
	key, err := base64.StdEncoding.DecodeString(ss.SessionKey)
	if err != nil || len(key) != 32 {
		return fail(fmt.Errorf("%s: the session key is not 32 bytes of base64", sessionFile))
	}
	s := &SignIn{Device: d, User: ss.User, prt: ss.PRT, sessionKey: key, prtExpires: ss.PRTExpires, topLevelNames: ss.TopLevelNames}
	if s.tgt, err = ss.TGT.load(); err != nil {
		s.Close()
		return fail(fmt.Errorf("%s: tgt_cloud: %v", sessionFile, err))
	}
	if s.adTGT, err = ss.ADTGT.load(); err != nil {
		s.Close()
		return fail(fmt.Errorf("%s: tgt_ad: %v", sessionFile, err))
	}
	return s, nil
}

// RemoveSignIn deletes the saved sign-in in dir (signing out on this
// device); the device identity stays.
func RemoveSignIn(dir string) error {
	if err := removeSecret(filepath.Join(dir, sessionFile)); err != nil {
		return fmt.Errorf("entra: remove session: %w", err)
	}
	return nil
}
