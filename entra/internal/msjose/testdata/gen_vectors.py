#!/usr/bin/python3
"""Independent test vectors for package msjose.

Everything here is computed with python3-cryptography (Debian's, 38.x) and the
standard library, from the formats as ENTRA.md and [MS-OAPXBC] describe them,
not from the Go code. The Go tests run it at the start of every run:

    /usr/bin/python3 gen_vectors.py OUTDIR

It writes OUTDIR/vectors.json and the RSA keys and certificates the RSA
vectors use (test_*.pem): fresh TEST KEYS every run, so no key is ever kept
in the repository. The CA key that signs the device certificate is used once
and not written. "Random" ctx and IV values come from a fixed SHA-256 stream,
so everything but the RSA parts is the same from run to run.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import struct
import sys
import uuid

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as sympadding, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFHMAC, Mode
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
# Where the keys, certificates and vectors go: the Go tests pass a fresh
# temporary directory.
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
LABEL = b"AzureAD-SecureConversation"


def det(tag, n):
    """n reproducible pseudo-random bytes named by tag (not secret)."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"msjose-vectors|" + tag.encode() + b"|" + str(i).encode()).digest()
        i += 1
    return out[:n]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64std(b):
    return base64.b64encode(b).decode()


def hx(b):
    return b.hex()


def jdump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


# ---- the KDF -------------------------------------------------------------

def kdf_kbkdf(key, context):
    """SP 800-108 counter mode through cryptography's KBKDFHMAC."""
    return KBKDFHMAC(
        algorithm=hashes.SHA256(),
        mode=Mode.CounterMode,
        length=32,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=LABEL,
        context=context,
        fixed=None,
    ).derive(key)


def kdf_formula(key, context):
    """The formula of ENTRA.md 1.4 written out: one HMAC-SHA256 block."""
    msg = struct.pack(">I", 1) + LABEL + b"\x00" + context + struct.pack(">I", 256)
    return hmac.new(key, msg, hashlib.sha256).digest()


def kdf(key, context):
    a, b = kdf_kbkdf(key, context), kdf_formula(key, context)
    assert a == b, "KBKDFHMAC and the written-out formula disagree"
    return a


def kdf_v2(key, ctx, payload):
    return kdf(key, hashlib.sha256(ctx + payload).digest())


# ---- keys and certificates (test keys only) ------------------------------

def load_or_make_key(name):
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return serialization.load_pem_private_key(f.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with open(path, "wb") as f:
        # Text before BEGIN is ignored by PEM readers (RFC 7468 section 2).
        f.write(b"TEST KEY made by gen_vectors.py for package msjose's test vectors.\n"
                b"It protects nothing; never use it outside these tests.\n")
        f.write(pem)
    return key


def load_or_make_certs(device_key):
    ca_path = os.path.join(OUT, "test_ca_cert.pem")
    dev_path = os.path.join(OUT, "test_device_cert.pem")
    if os.path.exists(ca_path) and os.path.exists(dev_path):
        with open(ca_path, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        with open(dev_path, "rb") as f:
            dev = x509.load_pem_x509_certificate(f.read())
        return ca, dev
    # The CA key signs once and is thrown away: only its certificate is kept.
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = datetime.datetime(2025, 1, 1)
    end = datetime.datetime(2125, 1, 1)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "msjose TEST device CA (not a real CA)")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    device_id = str(uuid.UUID(bytes=det("device-id", 16)))
    dev = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
        .issuer_name(ca_name)
        .public_key(device_key.public_key())
        .serial_number(2)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(dev_path, "wb") as f:
        f.write(dev.public_bytes(serialization.Encoding.PEM))
    return ca, dev


# ---- JWE under a derived key ---------------------------------------------

def jwe_gcm(session_key, ctx, plaintext, iv, header=None, ctx_text=None, aad_override=None):
    h = header if header is not None else {"alg": "dir", "enc": "A256GCM", "kid": "session"}
    h = dict(h)
    h["ctx"] = ctx_text if ctx_text is not None else b64std(ctx)
    protected = b64url(jdump(h))
    aad = aad_override if aad_override is not None else protected.encode()
    sealed = AESGCM(kdf(session_key, ctx)).encrypt(iv, plaintext, aad)
    ct, tag = sealed[:-16], sealed[-16:]
    return ".".join([protected, "", b64url(iv), b64url(ct), b64url(tag)])


def cbc_raw(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def jwe_cbc(session_key, ctx, plaintext, iv, enc="A256CBC", padded=None):
    h = {"alg": "dir", "enc": enc, "ctx": b64std(ctx), "kid": "session"}
    protected = b64url(jdump(h))
    if padded is None:
        p = sympadding.PKCS7(128).padder()
        padded = p.update(plaintext) + p.finalize()
    ct = cbc_raw(kdf(session_key, ctx), iv, padded)
    return ".".join([protected, "", b64url(iv), b64url(ct), ""])


def main():
    vec = {
        "generator": "gen_vectors.py with python3-cryptography " + cryptography.__version__,
        "note": "test vectors and TEST keys only",
    }

    # KDF
    sk_a = bytes(range(32))
    sk_b = det("session-key-b", 32)
    kdf_cases = []
    for name, key, context in [
        ("counting key, empty context", sk_a, b""),
        ("counting key, 24-byte context", sk_a, det("ctx-1", 24)),
        ("random key, 24-byte context", sk_b, det("ctx-2", 24)),
        ("random key, 100-byte context", sk_b, det("ctx-3", 100)),
        ("random key, 32-byte context (a v2 hash)", sk_b, hashlib.sha256(b"x").digest()),
    ]:
        kdf_cases.append({"name": name, "session_key": hx(key), "context": hx(context), "derived": hx(kdf(key, context))})
    vec["kdf"] = kdf_cases

    v2_ctx = det("ctx-v2", 24)
    v2_payload = jdump({"aud": "login.microsoftonline.com", "grant_type": "refresh_token", "iss": "aad:brokerplugin", "request_nonce": "AwABAAAA", "scope": "openid ugs aza"})
    vec["kdf_v2"] = [{
        "session_key": hx(sk_b),
        "ctx": hx(v2_ctx),
        "payload": hx(v2_payload),
        "context": hx(hashlib.sha256(v2_ctx + v2_payload).digest()),
        "derived": hx(kdf_v2(sk_b, v2_ctx, v2_payload)),
    }]

    # JWE, AES-GCM
    sk = det("jwe-session-key", 32)
    tgt_key = det("tgt-client-key", 32)
    plus_slash_ctx = bytes.fromhex("fbefbeffffff") + det("ctx-ps", 18)  # "+" and "/" in std base64
    assert "+" in b64std(plus_slash_ctx) and "/" in b64std(plus_slash_ctx)
    gcm = []
    for name, args in [
        ("raw 32-byte key, std base64 ctx", dict(ctx=det("g1", 24), plaintext=tgt_key, iv=det("g1iv", 12))),
        ("JSON plaintext", dict(ctx=det("g2", 24), plaintext=jdump({"tgt_cloud": "x", "refresh_token": "y"}), iv=det("g2iv", 12))),
        ("empty plaintext", dict(ctx=det("g3", 24), plaintext=b"", iv=det("g3iv", 12))),
        ("ctx with + and / in std base64", dict(ctx=plus_slash_ctx, plaintext=tgt_key, iv=det("g4iv", 12))),
        ("same ctx in base64url without padding", dict(ctx=plus_slash_ctx, plaintext=tgt_key, iv=det("g5iv", 12), ctx_text=b64url(plus_slash_ctx))),
        ("ctx of 20 bytes, padded std base64", dict(ctx=det("g6", 20), plaintext=tgt_key, iv=det("g6iv", 12))),
        ("kdf_ver 2 in the header (derivation still from ctx)", dict(ctx=det("g7", 24), plaintext=tgt_key, iv=det("g7iv", 12), header={"alg": "dir", "enc": "A256GCM", "kdf_ver": 2, "kid": "session"})),
        ("no alg, no kid", dict(ctx=det("g8", 24), plaintext=tgt_key, iv=det("g8iv", 12), header={"enc": "A256GCM"})),
    ]:
        gcm.append({"name": name, "session_key": hx(sk), "jwe": jwe_gcm(sk, **args), "plaintext": hx(args["plaintext"]), "ctx": hx(args["ctx"])})
    vec["jwe_gcm"] = gcm

    # JWE, AES-CBC
    cbc = []
    for name, pt, enc in [
        ("raw 32-byte key (a whole padding block)", tgt_key, "A256CBC"),
        ("5 bytes", b"hello", "A256CBC"),
        ("empty plaintext", b"", "A256CBC"),
        ("47 bytes", det("p47", 47), "A256CBC"),
        ("enc says A256GCM, the 16-byte IV says CBC", tgt_key, "A256GCM"),
    ]:
        cbc.append({"name": name, "session_key": hx(sk), "jwe": jwe_cbc(sk, det("c" + name, 24), pt, det("civ" + name, 16), enc=enc), "plaintext": hx(pt)})
    vec["jwe_cbc"] = cbc

    # Negative JWEs: each must fail to decrypt under sk.
    bad = []
    ctx, iv = det("bad", 24), det("badiv", 16)
    for name, last in [
        ("CBC padding byte 0", bytes(15) + b"\x00"),
        ("CBC padding byte 17", bytes(15) + b"\x11"),
        ("CBC padding bytes disagree", bytes(12) + b"\x04\x03\x04\x04"),
        ("CBC padding 16 with one byte off", b"\x10" * 7 + b"\x0f" + b"\x10" * 8),
    ]:
        bad.append({"name": name, "session_key": hx(sk), "jwe": jwe_cbc(sk, ctx, b"", iv, padded=det("blk", 16) + last), "want": "padding"})
    bad.append({"name": "GCM with the decoded header as AAD", "session_key": hx(sk),
                "jwe": jwe_gcm(sk, ctx, tgt_key, det("aadiv", 12), aad_override=jdump({"alg": "dir"})), "want": "authentication"})
    bad.append({"name": "GCM under another session key", "session_key": hx(sk_b),
                "jwe": jwe_gcm(sk, ctx, tgt_key, det("wkiv", 12)), "want": "authentication"})
    vec["jwe_bad"] = bad

    # session_key_jwe
    transport = load_or_make_key("test_transport_key.pem")
    device = load_or_make_key("test_device_key.pem")
    ca, dev = load_or_make_certs(device)
    oaep_sha1 = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    prt_key = det("prt-session-key", 32)
    skh = b64url(b'{"enc":"A256GCM","alg":"RSA-OAEP"}')
    ek = transport.public_key().encrypt(prt_key, oaep_sha1)
    iv = det("skiv", 12)
    tag = AESGCM(prt_key).encrypt(iv, b"", skh.encode())
    skj = []
    skj.append({"name": "well-formed RFC 7516 JWE, empty content", "jwe": ".".join([skh, b64url(ek), b64url(iv), "", b64url(tag)]), "session_key": hx(prt_key)})
    skj.append({"name": "content parts not base64 (only the key counts)", "jwe": ".".join([skh, b64url(transport.public_key().encrypt(prt_key, oaep_sha1)), "**", "not base64!", "??"]), "session_key": hx(prt_key)})
    skj.append({"name": "encrypted key in padded std base64", "jwe": ".".join([skh, b64std(transport.public_key().encrypt(prt_key, oaep_sha1)), "", "", ""]), "session_key": hx(prt_key)})
    vec["session_key_jwe"] = skj
    oaep_sha256 = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    vec["session_key_jwe_bad"] = [
        {"name": "RSA-OAEP-256 instead of SHA-1", "jwe": ".".join([skh, b64url(transport.public_key().encrypt(prt_key, oaep_sha256)), "", "", ""]), "want": "RSA-OAEP decryption"},
        {"name": "16-byte key", "jwe": ".".join([skh, b64url(transport.public_key().encrypt(prt_key[:16], oaep_sha1)), "", "", ""]), "want": "16 bytes"},
        {"name": "under the device key instead of the transport key", "jwe": ".".join([skh, b64url(device.public_key().encrypt(prt_key, oaep_sha1)), "", "", ""]), "want": "RSA-OAEP decryption"},
        {"name": "alg RSA1_5", "jwe": ".".join([b64url(b'{"enc":"A256GCM","alg":"RSA1_5"}'), b64url(ek), "", "", ""]), "want": "alg"},
    ]

    # HS256 JWTs under a derived key
    hs = []
    payload = jdump({"client_id": "38aa3b87-a06d-4817-b275-7a316988d93b", "grant_type": "refresh_token", "refresh_token": "NOT-A-REAL-PRT", "request_nonce": "AwABAAAA", "scope": "openid ugs aza"})
    for name, ver, ctx, ctx_text in [
        ("kdf v1", 1, det("h1", 24), None),
        ("kdf v2", 2, det("h2", 24), None),
        ("kdf v2, ctx with + and /", 2, plus_slash_ctx, None),
        ("kdf v1, ctx in base64url", 1, plus_slash_ctx, b64url(plus_slash_ctx)),
    ]:
        header = {"alg": "HS256", "typ": "JWT", "ctx": ctx_text or b64std(ctx)}
        if ver == 2:
            header["kdf_ver"] = 2
        key = kdf(prt_key, ctx) if ver == 1 else kdf_v2(prt_key, ctx, payload)
        signing_input = b64url(jdump(header)) + "." + b64url(payload)
        sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        hs.append({"name": name, "session_key": hx(prt_key), "jwt": signing_input + "." + b64url(sig), "payload": hx(payload), "kdf_ver": ver})
    vec["hs256"] = hs

    def hs_token(header, key, body=payload):
        si = b64url(jdump(header)) + "." + b64url(body)
        return si + "." + b64url(hmac.new(key, si.encode(), hashlib.sha256).digest())

    c = det("hbad", 24)
    vec["hs256_bad"] = [
        {"name": "kdf_ver 2 header, v1 key", "jwt": hs_token({"alg": "HS256", "ctx": b64std(c), "kdf_ver": 2}, kdf(prt_key, c))},
        {"name": "no kdf_ver header, v2 key", "jwt": hs_token({"alg": "HS256", "ctx": b64std(c)}, kdf_v2(prt_key, c, payload))},
        {"name": "kdf_ver as a string", "jwt": hs_token({"alg": "HS256", "ctx": b64std(c), "kdf_ver": "2"}, kdf_v2(prt_key, c, payload))},
        {"name": "kdf_ver 3", "jwt": hs_token({"alg": "HS256", "ctx": b64std(c), "kdf_ver": 3}, kdf_v2(prt_key, c, payload))},
        {"name": "no ctx", "jwt": hs_token({"alg": "HS256"}, kdf(prt_key, b""))},
        {"name": "HS512", "jwt": b64url(jdump({"alg": "HS512", "ctx": b64std(c)})) + "." + b64url(payload) + "." + b64url(hmac.new(kdf(prt_key, c), b"x", hashlib.sha512).digest())},
        {"name": "alg none", "jwt": b64url(jdump({"alg": "none", "ctx": b64std(c)})) + "." + b64url(payload) + "."},
        {"name": "signed with the raw session key", "jwt": hs_token({"alg": "HS256", "ctx": b64std(c)}, prt_key)},
    ]

    # RS256 with x5c
    dev_der = dev.public_bytes(serialization.Encoding.DER)
    rs_payload = jdump({"client_id": "38aa3b87-a06d-4817-b275-7a316988d93b", "grant_type": "password", "request_nonce": "AwABAAAA", "scope": "openid aza ugs", "username": "alice@contoso.example", "password": "NOT-A-REAL-PASSWORD"})

    def rs_token(header, key):
        si = b64url(jdump(header)) + "." + b64url(rs_payload)
        return si + "." + b64url(key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256()))

    vec["rs256"] = {
        "verify_time": "2026-06-01T00:00:00Z",
        "device_cn": dev.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
        "payload": hx(rs_payload),
        "good": rs_token({"alg": "RS256", "typ": "JWT", "x5c": [b64std(dev_der)]}, device),
        "bad": [
            {"name": "signed by the transport key", "jws": rs_token({"alg": "RS256", "typ": "JWT", "x5c": [b64std(dev_der)]}, transport)},
            {"name": "no x5c", "jws": rs_token({"alg": "RS256", "typ": "JWT"}, device)},
            {"name": "PS256", "jws": b64url(jdump({"alg": "PS256", "x5c": [b64std(dev_der)]})) + "." + b64url(rs_payload) + "." + b64url(device.sign(b"x", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()))},
            {"name": "alg none", "jws": b64url(jdump({"alg": "none", "x5c": [b64std(dev_der)]})) + "." + b64url(rs_payload) + "."},
            {"name": "x5c is the CA certificate", "jws": rs_token({"alg": "RS256", "x5c": [b64std(ca.public_bytes(serialization.Encoding.DER))]}, device)},
        ],
    }

    # BCRYPT_RSAKEY_BLOB (public)
    def blob(n, e, magic=0x31415352, bitlen=None, cbe=None, cbm=None, p1=0, p2=0, extra=b""):
        eb = e.to_bytes((e.bit_length() + 7) // 8, "big")
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        hdr = struct.pack("<6I", magic, bitlen if bitlen is not None else n.bit_length(),
                          cbe if cbe is not None else len(eb), cbm if cbm is not None else len(nb), p1, p2)
        return hdr + eb + nb + extra

    tn = transport.public_key().public_numbers()
    dn = device.public_key().public_numbers()
    vec["rsa_blob"] = [
        {"name": "transport key", "blob": hx(blob(tn.n, tn.e)), "n": format(tn.n, "x"), "e": tn.e},
        {"name": "device key", "blob": hx(blob(dn.n, dn.e)), "n": format(dn.n, "x"), "e": dn.e},
        {"name": "exponent 3", "blob": hx(blob(tn.n, 3)), "n": format(tn.n, "x"), "e": 3},
    ]
    small = tn.n >> 1100 | 1  # 948 bits, odd
    vec["rsa_blob_bad"] = [
        {"name": "magic RSA2 (private)", "blob": hx(blob(tn.n, tn.e, magic=0x32415352)), "want": "magic"},
        {"name": "948-bit modulus", "blob": hx(blob(small, 65537)), "want": "shorter"},
        {"name": "one byte too many", "blob": hx(blob(tn.n, tn.e, extra=b"\x00")), "want": "header says"},
        {"name": "cbModulus one short", "blob": hx(blob(tn.n, tn.e, cbm=255)), "want": "cbModulus"},
        {"name": "BitLength one too many", "blob": hx(blob(tn.n, tn.e, bitlen=2049)), "want": "cbModulus"},
        {"name": "prime sizes set", "blob": hx(blob(tn.n, tn.e, p1=128, p2=128)), "want": "cbPrime"},
        {"name": "even exponent", "blob": hx(blob(tn.n, 65536)), "want": "exponent"},
        {"name": "exponent 2^31+1", "blob": hx(blob(tn.n, 2**31 + 1)), "want": "exponent"},
    ]

    with open(os.path.join(OUT, "vectors.json"), "w") as f:
        json.dump(vec, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
