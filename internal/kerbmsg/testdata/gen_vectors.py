#!/usr/bin/python3
"""Independent DER vectors for package kerbmsg.

The RFC 4120 (and RFC 6806) types are declared here with pyasn1 (Debian's
python3-pyasn1) and encoded with pyasn1's DER encoder, not with the Go code.
Run from this directory:

    /usr/bin/python3 gen_vectors.py

It writes vectors.json: each vector is the DER (hex) and the field values the
Go decoder must find. Nothing here is a real key or ticket.
"""

import json
import os

from pyasn1.codec.der import encoder
from pyasn1.type import char, namedtype, tag, univ, useful

HERE = os.path.dirname(os.path.abspath(__file__))


def ctx(n):
    return tag.Tag(tag.tagClassContext, tag.tagFormatSimple, n)


def app(n, base):
    return base.tagSet.tagExplicitly(tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, n))


def field(name, typ, n):
    return namedtype.NamedType(name, typ.subtype(explicitTag=ctx(n)))


def opt(name, typ, n):
    return namedtype.OptionalNamedType(name, typ.subtype(explicitTag=ctx(n)))


class KerberosString(char.GeneralString):
    pass


class KerberosTime(useful.GeneralizedTime):
    pass


class PrincipalName(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("name-type", univ.Integer(), 0),
        field("name-string", univ.SequenceOf(componentType=KerberosString()), 1),
    )


class EncryptedData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("etype", univ.Integer(), 0),
        opt("kvno", univ.Integer(), 1),
        field("cipher", univ.OctetString(), 2),
    )


class Ticket(univ.Sequence):
    tagSet = app(1, univ.Sequence)
    componentType = namedtype.NamedTypes(
        field("tkt-vno", univ.Integer(), 0),
        field("realm", KerberosString(), 1),
        field("sname", PrincipalName(), 2),
        field("enc-part", EncryptedData(), 3),
    )


class PAData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("padata-type", univ.Integer(), 1),
        field("padata-value", univ.OctetString(), 2),
    )


class KDCRep(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("pvno", univ.Integer(), 0),
        field("msg-type", univ.Integer(), 1),
        opt("padata", univ.SequenceOf(componentType=PAData()), 2),
        field("crealm", KerberosString(), 3),
        field("cname", PrincipalName(), 4),
        field("ticket", Ticket(), 5),
        field("enc-part", EncryptedData(), 6),
    )


class ASRep(KDCRep):
    tagSet = app(11, univ.Sequence)


class EncryptionKey(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("keytype", univ.Integer(), 0),
        field("keyvalue", univ.OctetString(), 1),
    )


class LastReqEntry(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("lr-type", univ.Integer(), 0),
        field("lr-value", KerberosTime(), 1),
    )


class HostAddress(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("addr-type", univ.Integer(), 0),
        field("address", univ.OctetString(), 1),
    )


class EncKDCRepPart(univ.Sequence):
    componentType = namedtype.NamedTypes(
        field("key", EncryptionKey(), 0),
        field("last-req", univ.SequenceOf(componentType=LastReqEntry()), 1),
        field("nonce", univ.Integer(), 2),
        opt("key-expiration", KerberosTime(), 3),
        field("flags", univ.BitString(), 4),
        field("authtime", KerberosTime(), 5),
        opt("starttime", KerberosTime(), 6),
        field("endtime", KerberosTime(), 7),
        opt("renew-till", KerberosTime(), 8),
        field("srealm", KerberosString(), 9),
        field("sname", PrincipalName(), 10),
        opt("caddr", univ.SequenceOf(componentType=HostAddress()), 11),
        opt("encrypted-pa-data", univ.SequenceOf(componentType=PAData()), 12),
    )


class EncASRepPart(EncKDCRepPart):
    tagSet = app(25, univ.Sequence)


class EncTGSRepPart(EncKDCRepPart):
    tagSet = app(26, univ.Sequence)


def fill_principal(target, name_type, comps):
    target["name-type"] = name_type
    for c in comps:
        target["name-string"].append(c.encode() if isinstance(c, str) else c)


def fill_enc(target, etype, kvno, cipher):
    target["etype"] = etype
    if kvno is not None:
        target["kvno"] = kvno
    target["cipher"] = cipher


def fill_ticket(t, realm, sname, etype, kvno, cipher):
    t["tkt-vno"] = 5
    t["realm"] = realm
    fill_principal(t["sname"], 2, sname)
    fill_enc(t["enc-part"], etype, kvno, cipher)


def main():
    out = {"generator": "gen_vectors.py with pyasn1 (DER encoder)", "as_rep": [], "enc_part": []}

    # AS-REPs
    realm = "KERBEROS.MICROSOFTONLINE.COM"
    for name, cname_type, cname, padata, kvno in [
        ("enterprise client, padata, no enc-part kvno", 10, ["alice@contoso.com"], [(19, b"\x30\x00"), (136, b"")], None),
        ("plain client, no padata, kvno 2", 1, ["bob"], None, 2),
        ("kvno needing 5 bytes (unsigned 0x80000000)", 1, ["carol"], None, 0x80000000),
    ]:
        r = ASRep()
        r["pvno"] = 5
        r["msg-type"] = 11
        if padata is not None:
            for t, v in padata:
                pa = PAData()
                pa["padata-type"] = t
                pa["padata-value"] = v
                r["padata"].append(pa)
        r["crealm"] = realm
        fill_principal(r["cname"], cname_type, cname)
        fill_ticket(r["ticket"], realm, ["krbtgt", realm], 18, 1, bytes(range(40)))
        standalone = Ticket()
        fill_ticket(standalone, realm, ["krbtgt", realm], 18, 1, bytes(range(40)))
        fill_enc(r["enc-part"], 18, kvno, bytes(range(64, 64 + 90)))
        der = encoder.encode(r)
        out["as_rep"].append({
            "name": name,
            "der": der.hex(),
            "ticket": encoder.encode(standalone).hex(),
            "crealm": realm,
            "cname_type": cname_type,
            "cname": cname,
            "client": "\\@".join(cname[0].split("@")) + "@" + realm if cname_type == 10 else "/".join(cname) + "@" + realm,
            "padata": None if padata is None else [{"type": t, "value": v.hex()} for t, v in padata],
            "enc_etype": 18,
            "enc_kvno": kvno,
            "enc_cipher": bytes(range(64, 64 + 90)).hex(),
            "server": "krbtgt/" + realm + "@" + realm,
        })

    # EncASRepParts
    cases = [
        dict(name="all fields", tag=25, keytype=18, key=bytes(range(32)), lastreq=[(0, "20260101120000Z"), (-6, "20251231235959Z")],
             nonce=0x7ffffff0, keyexp="20270101000000Z", flags=0x40810000, authtime="20260101120000Z",
             starttime="20260101120001Z", endtime="20260101220000Z", renewtill="20260108120000Z",
             srealm=realm, sname=["krbtgt", realm], caddr=[(2, bytes([127, 0, 0, 1])), (24, bytes(16))],
             encpadata=[(149, b"\x04\x00")]),
        dict(name="required fields only, application tag 26", tag=26, keytype=18, key=bytes(32), lastreq=[],
             nonce=0, keyexp=None, flags=0, authtime="19700101000000Z", starttime=None, endtime="20380119031408Z",
             renewtill=None, srealm="MITLAB.TEST", sname=["krbtgt", "MITLAB.TEST"], caddr=None, encpadata=None),
        dict(name="nonce 0xffffffff, all flags, year 9999", tag=25, keytype=20, key=bytes(range(32)), lastreq=[(0, "20260101120000Z")],
             nonce=0xffffffff, keyexp=None, flags=0xffffffff, authtime="99991231235959Z", starttime=None,
             endtime="99991231235959Z", renewtill=None, srealm="R", sname=["k"], caddr=None, encpadata=None),
    ]
    for c in cases:
        p = EncASRepPart() if c["tag"] == 25 else EncTGSRepPart()
        p["key"]["keytype"] = c["keytype"]
        p["key"]["keyvalue"] = c["key"]
        lrs = p["last-req"]
        for t, v in c["lastreq"]:
            e = LastReqEntry()
            e["lr-type"] = t
            e["lr-value"] = v
            lrs.append(e)
        p["nonce"] = c["nonce"]
        if c["keyexp"]:
            p["key-expiration"] = c["keyexp"]
        p["flags"] = p.componentType["flags"].getType().clone(binValue=format(c["flags"], "032b"))
        p["authtime"] = c["authtime"]
        if c["starttime"]:
            p["starttime"] = c["starttime"]
        p["endtime"] = c["endtime"]
        if c["renewtill"]:
            p["renew-till"] = c["renewtill"]
        p["srealm"] = c["srealm"]
        fill_principal(p["sname"], 2, c["sname"])
        if c["caddr"] is not None:
            ca = p["caddr"]
            for t, a in c["caddr"]:
                h = HostAddress()
                h["addr-type"] = t
                h["address"] = a
                ca.append(h)
        if c["encpadata"] is not None:
            ep = p["encrypted-pa-data"]
            for t, v in c["encpadata"]:
                pa = PAData()
                pa["padata-type"] = t
                pa["padata-value"] = v
                ep.append(pa)
        der = encoder.encode(p)
        out["enc_part"].append({
            "name": c["name"],
            "der": der.hex(),
            "tag": c["tag"],
            "keytype": c["keytype"],
            "key": c["key"].hex(),
            "lastreq": [{"type": t, "value": v} for t, v in c["lastreq"]],
            "nonce": c["nonce"],
            "keyexp": c["keyexp"],
            "flags": c["flags"],
            "authtime": c["authtime"],
            "starttime": c["starttime"],
            "endtime": c["endtime"],
            "renewtill": c["renewtill"],
            "srealm": c["srealm"],
            "sname": c["sname"],
            "caddr": None if c["caddr"] is None else [{"type": t, "address": a.hex()} for t, a in c["caddr"]],
            "encpadata": None if c["encpadata"] is None else [{"type": t, "value": v.hex()} for t, v in c["encpadata"]],
        })

    with open(os.path.join(HERE, "vectors.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
