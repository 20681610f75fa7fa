# Generates vectors.txt with the python3 "cryptography" package, an
# implementation independent of this one: python3 testdata/vectors.py > testdata/vectors.txt
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, Mode, CounterLocation
import struct
def h(b): return b.hex()
k16=bytes(range(0x10,0x20)); k32=bytes(range(0x40,0x60))
# KDF
for key,label,ctx,L in [(k16,b"SMBSigningKey\x00",bytes(range(64)),128),(k32,b"SMBC2SCipherKey\x00",bytes(range(64)),256),(k16,b"SMB2AESCMAC\x00",b"SmbSign\x00",128)]:
    kdf=KBKDFHMAC(algorithm=hashes.SHA256(),mode=Mode.CounterMode,length=L//8,rlen=4,llen=4,location=CounterLocation.BeforeFixed,label=label,context=ctx,fixed=None)
    print("kdf",h(key),h(label),h(ctx),L,h(kdf.derive(key)))
# CMAC over a 64-byte header + body, sig zero
msg=bytearray(range(256))*5; msg=msg[:1000]
msg[48:64]=bytes(16)
c=cmac.CMAC(algorithms.AES(k16)); c.update(bytes(msg)); print("cmac",h(c.finalize()))
# GMAC: nonce = msgid(8) + flags
msgid=struct.unpack_from("<Q",msg,24)[0]
flags=struct.unpack_from("<I",msg,16)[0]; cmd=struct.unpack_from("<H",msg,12)[0]
f=(1 if flags&1 else 0)|(2 if cmd==0x0c else 0)
nonce=struct.pack("<QI",msgid,f)
print("gmac",h(AESGCM(k16).encrypt(nonce,b"",bytes(msg))), f)
# transform frames
plain=bytes(msg)
for name,cls,key,nl in [("ccm128",AESCCM,k16,11),("gcm128",AESGCM,k16,12),("ccm256",AESCCM,k32,11),("gcm256",AESGCM,k32,12)]:
    n=bytes(range(0xa0,0xa0+nl))
    hdr=bytearray(52); hdr[0:4]=b"\xfdSMB"; hdr[20:20+nl]=n
    struct.pack_into("<IHHQ",hdr,36,len(plain),0,1,0x1122334455667788)
    ct=cls(key).encrypt(n,plain,bytes(hdr[20:]))
    hdr[4:20]=ct[-16:]
    print("frame",name,h(bytes(hdr)+ct[:-16]))
