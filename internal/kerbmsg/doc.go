// Package kerbmsg encodes and decodes the few Kerberos messages (RFC 4120)
// that smbkrb handles outside MIT's own exchanges: the Entra Kerberos flow's
// AS-REP wrapping, shared by the Entra client (package entra) and its
// emulator (package entra/entratest), and what package krb5 reads itself
// (a cached Ticket's enctype, the e-text of a KDC's KRB-ERROR: [ErrorText]).
//
// Entra hands out the cloud TGT not in a Kerberos exchange but inside a PRT
// response (see ENTRA.md in the project's shared notes): tgt_cloud's
// messageBuffer is a DER AS-REP, and its enc-part decrypts, with tgt_cloud's
// clientKey, to an EncASRepPart. The client takes the client name, the
// ticket and the session key, flags and times from these to fill a
// credential cache; the emulator builds them from a real KDC's reply. The
// decryption itself is MIT krb5's (package krb5): this package is ASN.1
// structure only and holds no Kerberos cryptography.
//
//   - [ParseASRep], [ASRep.Marshal]: the AS-REP, with the Ticket kept as the
//     exact bytes the KDC sent ([ParseTicket] reads its realm and server).
//   - [ParseEncASRepPart], [EncASRepPart.Marshal]: the decrypted enc-part
//     (application tag 25, or 26 on input, as MIT accepts).
//   - [PrincipalName], [FormatPrincipal], [ParsePrincipal]: names and MIT's
//     string form, in which the enterprise name user@contoso.com of realm
//     KERBEROS.MICROSOFTONLINE.COM is
//     user\@contoso.com@KERBEROS.MICROSOFTONLINE.COM.
//
// Decoding is strict DER and bounded: definite minimal lengths, fields in
// order, no unknown fields, no trailing bytes, at most 1 MiB, so that a
// parsed message re-encodes to the same bytes and a hostile one is refused
// cheaply. Errors say which field failed and never contain keys.
package kerbmsg
