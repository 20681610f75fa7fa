/* A C program that uses smbkrb's Kerberos core (krb5/shim.c) without Go,
 * as a QNX integrator would: its own KDC transport (Kerberos over TCP,
 * RFC 4120 7.2.2, to an address it was given), a password login into a
 * memory cache, a service ticket fetched before GSS runs, and a GSS
 * initiator and acceptor completing mutual authentication in-process
 * with matching session keys and a verified MIC.
 *
 * Usage: shim-example PROFILE KDC_HOST KDC_PORT CLIENT SERVICE KEYTAB
 * with the password on standard input. Prints what each step gave; exits
 * 0 only if every step worked. platform/qnx/shim_test.go builds and runs
 * it on Linux against a throwaway MIT KDC. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "shim.h"
#include "_cgo_export.h"

struct kdc {
    struct sockaddr_in addr;
    int exchanges;
};

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The transport: one TCP connection per exchange, 4-byte big-endian
 * length framing, 10-second timeouts. */
int smbkrbGoSend(uintptr_t handle, char *realm, int realm_len, char *msg,
                 int msg_len, char **reply, int *reply_len) {
    struct kdc *kdc = (struct kdc *)handle;
    struct timeval tv = {10, 0};
    unsigned char len[4];
    uint32_t n;
    char *buf;
    int fd;

    (void)realm;
    (void)realm_len;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&kdc->addr, sizeof(kdc->addr)) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    n = htonl((uint32_t)msg_len);
    memcpy(len, &n, 4);
    if (write_all(fd, (char *)len, 4) || write_all(fd, msg, (size_t)msg_len) ||
        read_all(fd, (char *)len, 4)) {
        close(fd);
        return EIO;
    }
    memcpy(&n, len, 4);
    n = ntohl(n);
    if (n == 0 || n > (1u << 20)) {
        close(fd);
        return EMSGSIZE;
    }
    buf = malloc(n); /* freed by MIT with the reply */
    if (buf == NULL || read_all(fd, buf, n)) {
        free(buf);
        close(fd);
        return EIO;
    }
    close(fd);
    *reply = buf;
    *reply_len = (int)n;
    kdc->exchanges++;
    return 0;
}

static int failed(const char *step, long code, char *errmsg) {
    fprintf(stderr, "shim-example: %s: error %ld: %s\n", step, code,
            errmsg != NULL ? errmsg : "");
    free(errmsg);
    return 1;
}

int main(int argc, char **argv) {
    struct kdc kdc;
    char password[256];
    krb5_context ctx = NULL;
    krb5_ccache cc = NULL;
    char *ccname = NULL, *client = NULL, *errmsg = NULL, *peer = NULL;
    smbkrb_cred_info info;
    gss_cred_id_t icred = GSS_C_NO_CREDENTIAL, acred = GSS_C_NO_CREDENTIAL;
    gss_name_t iname = GSS_C_NO_NAME, aname = GSS_C_NO_NAME;
    gss_ctx_id_t ictx = GSS_C_NO_CONTEXT, actx = GSS_C_NO_CONTEXT;
    void *tok = NULL, *rep = NULL, *none = NULL, *mic = NULL;
    size_t toklen = 0, replen = 0, nonelen = 0, miclen = 0;
    uint8_t *ikey = NULL, *akey = NULL;
    size_t ikeylen = 0, akeylen = 0;
    int32_t ienc = 0, aenc = 0;
    uint32_t flags = 0, aflags = 0;
    int complete = 0, acomplete = 0;
    OM_uint32 major, minor;
    krb5_error_code code;
    const char msg[] = "signed by the initiator";
    /* mutual, replay, sequence, integrity: what smbkrb asks for */
    const uint32_t req = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG |
                         GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG;

    if (argc != 7) {
        fprintf(stderr, "usage: shim-example PROFILE KDC_HOST KDC_PORT CLIENT SERVICE KEYTAB < password\n");
        return 2;
    }
    memset(&kdc, 0, sizeof(kdc));
    kdc.addr.sin_family = AF_INET;
    kdc.addr.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &kdc.addr.sin_addr) != 1)
        return failed("KDC address", 0, NULL);
    if (fgets(password, sizeof(password), stdin) == NULL)
        return failed("read the password", 0, NULL);
    password[strcspn(password, "\r\n")] = '\0';

    code = smbkrb_init_context(argv[1], (uintptr_t)&kdc, &ctx, &errmsg);
    if (code)
        return failed("smbkrb_init_context", code, errmsg);
    code = smbkrb_cc_new_memory(ctx, &cc, &ccname, &errmsg);
    if (code)
        return failed("smbkrb_cc_new_memory", code, errmsg);
    code = smbkrb_init_creds(ctx, cc, argv[4], 0, password, NULL, 0, 0, 0,
                             &client, &errmsg);
    explicit_bzero(password, sizeof(password));
    if (code)
        return failed("smbkrb_init_creds", code, errmsg);
    printf("logged in as %s into %s\n", client, ccname);

    memset(&info, 0, sizeof(info));
    code = smbkrb_get_service(ctx, cc, argv[5], 0, 0, &info, &errmsg);
    if (code)
        return failed("smbkrb_get_service", code, errmsg);
    printf("service ticket %s, session key enctype %d, %zu-byte ticket\n",
           info.server, info.key_enctype, info.ticket_len);

    major = smbkrb_gss_initiator_cred(ccname, info.server, &icred, &iname,
                                      &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_initiator_cred", major, errmsg);
    major = smbkrb_gss_acceptor_cred(argv[6], "none:", &acred, &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_acceptor_cred", major, errmsg);
    major = smbkrb_gss_init(icred, &ictx, iname, req, NULL, 0, &tok, &toklen,
                            &flags, &complete, &minor, &errmsg);
    if (GSS_ERROR(major) || complete)
        return failed("smbkrb_gss_init (AP-REQ)", major, errmsg);
    major = smbkrb_gss_accept(acred, &actx, tok, toklen, &rep, &replen, &peer,
                              &aflags, &acomplete, &minor, &errmsg);
    if (GSS_ERROR(major) || !acomplete)
        return failed("smbkrb_gss_accept", major, errmsg);
    major = smbkrb_gss_init(icred, &ictx, iname, req, rep, replen, &none,
                            &nonelen, &flags, &complete, &minor, &errmsg);
    if (GSS_ERROR(major) || !complete || nonelen != 0)
        return failed("smbkrb_gss_init (AP-REP)", major, errmsg);
    printf("mutual authentication complete: AP-REQ %zu bytes, AP-REP %zu bytes, acceptor sees %s\n",
           toklen, replen, peer);

    major = smbkrb_gss_session_key(ictx, &ikey, &ikeylen, &ienc, &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_session_key (initiator)", major, errmsg);
    major = smbkrb_gss_session_key(actx, &akey, &akeylen, &aenc, &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_session_key (acceptor)", major, errmsg);
    if (ikeylen == 0 || ikeylen != akeylen || memcmp(ikey, akey, ikeylen) != 0)
        return failed("session keys differ", 0, NULL);
    printf("session keys match: %zu bytes, enctype %d\n", ikeylen, ienc);

    major = smbkrb_gss_get_mic(ictx, msg, sizeof(msg), &mic, &miclen, &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_get_mic", major, errmsg);
    major = smbkrb_gss_verify_mic(actx, msg, sizeof(msg), mic, miclen, &minor, &errmsg);
    if (GSS_ERROR(major))
        return failed("smbkrb_gss_verify_mic", major, errmsg);
    printf("MIC verified (%zu bytes)\n", miclen);
    printf("KDC exchanges through the C transport: %d\n", kdc.exchanges);

    /* Everything released with the function shim.h names for it. */
    smbkrb_free_secret(ikey, ikeylen);
    smbkrb_free_secret(akey, akeylen);
    smbkrb_gss_free_buffer(tok, toklen);
    smbkrb_gss_free_buffer(rep, replen);
    smbkrb_gss_free_buffer(none, nonelen);
    smbkrb_gss_free_buffer(mic, miclen);
    smbkrb_gss_release(&ictx, &icred, &iname);
    smbkrb_gss_release(&actx, &acred, &aname);
    smbkrb_clear_cred_info(&info);
    free(peer);
    free(client);
    free(ccname);
    smbkrb_cc_destroy(ctx, cc, &errmsg);
    free(errmsg);
    krb5_free_context(ctx);
    return 0;
}
