package entra

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/smbkrb/smbkrb/entra/internal/msjose"
	"github.com/smbkrb/smbkrb/internal/aad"
	"github.com/smbkrb/smbkrb/internal/kerbmsg"
	"github.com/smbkrb/smbkrb/krb5"
)

// tgtJSON is the JSON inside tgt_cloud and tgt_ad.
type tgtJSON struct {
	ClientKey      string      `json:"clientKey"`
	KeyType        flexibleInt `json:"keyType"`
	MessageBuffer  string      `json:"messageBuffer"`
	Error          string      `json:"error"`
	Realm          string      `json:"realm"`
	SN             string      `json:"sn"`
	CN             string      `json:"cn"`
	SessionKeyType flexibleInt `json:"sessionKeyType"`
	AccountType    flexibleInt `json:"accountType"`
}

// decodeTGT turns tgt_cloud (or tgt_ad), a JSON document in a string,
// into a credential: clientKey (a JWE under the PRT session key's derived
// key, or plain base64) decrypts the AS-REP's enc-part, which MIT does
// (key usage 3). It returns ErrNoTGT when the field is empty or says
// there is no ticket.
func decodeTGT(field string, sessionKey []byte) (*krb5.Credential, error) {
	if strings.TrimSpace(field) == "" {
		return nil, ErrNoTGT
	}
	var t tgtJSON
	if err := jsonString(field, &t); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrBadResponse, err)
	}
	if t.KeyType == 0 || t.MessageBuffer == "" {
		if t.Error != "" {
			return nil, fmt.Errorf("%w (Entra says: %s)", ErrNoTGT, aad.Clip(t.Error, 200))
		}
		return nil, ErrNoTGT
	}
	ckey, err := clientKey(t.ClientKey, sessionKey)
	if err != nil {
		return nil, err
	}
	defer clear(ckey)
	etype := krb5.Enctype(t.KeyType)
	if n := etype.KeySize(); n == 0 || n != len(ckey) {
		return nil, fmt.Errorf("%w: clientKey is %d bytes for key type %d", ErrBadResponse, len(ckey), t.KeyType)
	}
	der, err := base64.StdEncoding.DecodeString(t.MessageBuffer)
	if err != nil {
		return nil, fmt.Errorf("%w: messageBuffer is not base64: %v", ErrBadResponse, err)
	}
	rep, err := kerbmsg.ParseASRep(der)
	if err != nil {
		return nil, fmt.Errorf("%w: messageBuffer: %v", ErrBadResponse, err)
	}
	if krb5.Enctype(rep.EncPart.EType) != etype {
		return nil, fmt.Errorf("%w: the AS-REP is encrypted with enctype %d, clientKey is of type %d", ErrBadResponse, rep.EncPart.EType, t.KeyType)
	}
	plain, err := krb5.Decrypt(etype, ckey, krb5.KeyUsageASRepEncPart, rep.EncPart.Cipher)
	if err != nil {
		return nil, fmt.Errorf("%w: the AS-REP does not decrypt with clientKey: %v", ErrBadResponse, err)
	}
	defer clear(plain)
	enc, err := kerbmsg.ParseEncASRepPart(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: the AS-REP's enc-part: %v", ErrBadResponse, err)
	}
	tkt, err := kerbmsg.ParseTicket(rep.Ticket)
	if err != nil {
		clear(enc.Key.KeyValue)
		return nil, fmt.Errorf("%w: the ticket: %v", ErrBadResponse, err)
	}
	server := kerbmsg.FormatPrincipal(enc.SName, enc.SRealm)
	if enc.SName.String() != "krbtgt/"+enc.SRealm || tkt.Server() != server {
		clear(enc.Key.KeyValue)
		return nil, fmt.Errorf("%w: the ticket is for %s, not a TGT", ErrBadResponse, tkt.Server())
	}
	cred := &krb5.Credential{
		Client:     rep.Client(),
		Server:     server,
		SessionKey: enc.Key.KeyValue,
		Enctype:    krb5.Enctype(enc.Key.KeyType),
		AuthTime:   enc.AuthTime,
		StartTime:  enc.StartTime,
		EndTime:    enc.EndTime,
		RenewTill:  enc.RenewTill,
		Flags:      krb5.TicketFlags(enc.Flags),
		Ticket:     rep.Ticket,
	}
	if cred.Enctype.KeySize() == 0 || len(cred.SessionKey) != cred.Enctype.KeySize() {
		cred.Zero()
		return nil, fmt.Errorf("%w: the TGT's session key is %d bytes of enctype %d", ErrBadResponse, len(cred.SessionKey), enc.Key.KeyType)
	}
	return cred, nil
}

// clientKey decodes tgt_cloud's clientKey: a compact JWE (it has dots)
// under the PRT session key's derived key, or the raw key in base64.
func clientKey(s string, sessionKey []byte) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: clientKey is empty", ErrBadResponse)
	}
	if strings.Contains(s, ".") {
		key, _, err := msjose.DecryptJWE(s, sessionKey)
		if err != nil {
			return nil, fmt.Errorf("%w: clientKey: %v", ErrBadResponse, err)
		}
		return key, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w: clientKey is neither a JWE nor base64", ErrBadResponse)
}
