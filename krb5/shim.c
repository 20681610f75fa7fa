/* The C side of package krb5. See shim.h for the contract. Small and
 * boring on purpose: each function is one MIT operation plus the error text
 * and the copies Go needs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <profile.h>
#include "shim.h"
#include "_cgo_export.h"

/* ---------- helpers ---------- */

void smbkrb_free_secret(void *p, size_t len) {
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

void smbkrb_gss_free_buffer(void *p, size_t len) {
    (void)len;
    free(p);
}

static char *dupstr(const char *s) {
    return strdup(s != NULL ? s : "");
}

/* Stores MIT's text for code in *errmsg (malloc'd, freed by Go). */
static krb5_error_code fail(krb5_context ctx, krb5_error_code code,
                            char **errmsg) {
    if (code != 0 && errmsg != NULL && *errmsg == NULL) {
        const char *m = krb5_get_error_message(ctx, code);
        *errmsg = dupstr(m);
        krb5_free_error_message(ctx, m);
    }
    return code;
}

/* Stores the GSS major and minor texts in *errmsg. */
static OM_uint32 gfail(OM_uint32 major, OM_uint32 minor, char **errmsg) {
    OM_uint32 tmp, ctx = 0;
    gss_buffer_desc b;
    char buf[1024];
    size_t used = 0;
    int kinds[2] = {GSS_C_GSS_CODE, GSS_C_MECH_CODE};
    OM_uint32 codes[2] = {major, minor};
    int i;

    if (errmsg == NULL || *errmsg != NULL)
        return major;
    buf[0] = '\0';
    for (i = 0; i < 2; i++) {
        if (codes[i] == 0 || (i == 0 && GSS_ROUTINE_ERROR(major) == 0))
            continue;
        ctx = 0;
        do {
            /* b is released right below with gss_release_buffer. */
            if (gss_display_status(&tmp, codes[i], kinds[i], gss_mech_krb5,
                                   &ctx, &b) != GSS_S_COMPLETE)
                break;
            if (used > 0 && used + 2 < sizeof(buf)) {
                memcpy(buf + used, ": ", 2);
                used += 2;
            }
            if (used + b.length < sizeof(buf)) {
                memcpy(buf + used, b.value, b.length);
                used += b.length;
            }
            buf[used] = '\0';
            gss_release_buffer(&tmp, &b);
        } while (ctx != 0);
    }
    *errmsg = strdup(buf);
    return major;
}

/* Initializes cc with client when init is 1, or when init is 2 and the
 * cache has no default principal yet. */
static krb5_error_code maybe_init(krb5_context ctx, krb5_ccache cc, int init,
                                  krb5_principal client) {
    krb5_principal have = NULL;
    if (init == 2) {
        if (krb5_cc_get_principal(ctx, cc, &have) == 0) {
            krb5_free_principal(ctx, have);
            return 0;
        }
        init = 1;
    }
    return init ? krb5_cc_initialize(ctx, cc, client) : 0;
}

static int64_t ts(krb5_timestamp t) { return (int64_t)(uint32_t)t; }

/* Fills info from creds; strings and ticket are malloc'd. */
static krb5_error_code fill_info(krb5_context ctx, const krb5_creds *c,
                                 smbkrb_cred_info *info) {
    krb5_error_code code;
    char *s = NULL;

    memset(info, 0, sizeof(*info));
    code = krb5_unparse_name(ctx, c->client, &s);
    if (code)
        return code;
    info->client = dupstr(s);
    krb5_free_unparsed_name(ctx, s);
    code = krb5_unparse_name(ctx, c->server, &s);
    if (code)
        return code;
    info->server = dupstr(s);
    krb5_free_unparsed_name(ctx, s);
    info->key_enctype = c->keyblock.enctype;
    info->authtime = ts(c->times.authtime);
    info->starttime = ts(c->times.starttime);
    info->endtime = ts(c->times.endtime);
    info->renew_till = ts(c->times.renew_till);
    info->flags = (uint32_t)c->ticket_flags;
    if (c->ticket.length > 0) {
        info->ticket = malloc(c->ticket.length);
        if (info->ticket == NULL)
            return ENOMEM;
        memcpy(info->ticket, c->ticket.data, c->ticket.length);
        info->ticket_len = c->ticket.length;
    }
    return 0;
}

void smbkrb_clear_cred_info(smbkrb_cred_info *info) {
    free(info->client);
    free(info->server);
    free(info->ticket);
    memset(info, 0, sizeof(*info));
}

void smbkrb_free_cred_infos(smbkrb_cred_info *infos, int n) {
    int i;
    if (infos == NULL)
        return;
    for (i = 0; i < n; i++)
        smbkrb_clear_cred_info(&infos[i]);
    free(infos);
}

/* ---------- the KDC send hook: every KDC exchange goes to Go ---------- */

static krb5_error_code KRB5_CALLCONV
send_hook(krb5_context ctx, void *data, const krb5_data *realm,
          const krb5_data *message, krb5_data **new_message_out,
          krb5_data **new_reply_out) {
    char *reply = NULL;
    int reply_len = 0;
    krb5_data *d;
    int rc;

    (void)ctx;
    (void)new_message_out;
    /* reply is malloc'd by Go; on success its ownership passes to MIT,
     * which frees it with the reply krb5_data. */
    rc = smbkrbGoSend((uintptr_t)data, realm->data, (int)realm->length,
                      message->data, (int)message->length, &reply,
                      &reply_len);
    if (rc == SMBKRB_SEND_PASS)
        return 0;
    if (rc != 0) {
        free(reply);
        return (krb5_error_code)rc;
    }
    d = malloc(sizeof(*d)); /* freed by MIT (sendto_kdc) */
    if (d == NULL) {
        free(reply);
        return ENOMEM;
    }
    d->magic = KV5M_DATA;
    d->length = (unsigned int)reply_len;
    d->data = reply;
    *new_reply_out = d;
    return 0;
}

/* context_from_profile makes *out from profile (pcode: the result of
 * reading it) and releases profile. */
static krb5_error_code context_from_profile(long pcode, profile_t profile,
                                            krb5_context *out, char **errmsg) {
    krb5_error_code code;

    *out = NULL;
    if (pcode) {
        *errmsg = dupstr(error_message(pcode));
        return (krb5_error_code)pcode;
    }
    /* profile is copied by krb5_init_context_profile. */
    code = krb5_init_context_profile(profile, 0, out);
    profile_release(profile);
    if (code) {
        *errmsg = dupstr(error_message(code));
        return code;
    }
    return 0;
}

krb5_error_code smbkrb_init_crypto_context(krb5_context *out, char **errmsg) {
    profile_t profile = NULL;
    long pcode;

    /* An empty profile: no file is read, not even /etc/krb5.conf. */
    pcode = profile_init(NULL, &profile);
    return context_from_profile(pcode, profile, out, errmsg);
}

krb5_error_code smbkrb_init_context(const char *profile_path, uintptr_t handle,
                                    krb5_context *out, char **errmsg) {
    profile_t profile = NULL;
    krb5_error_code code;
    long pcode;

    pcode = profile_init_path(profile_path, &profile);
    code = context_from_profile(pcode, profile, out, errmsg);
    if (code)
        return code;
    krb5_set_kdc_send_hook(*out, send_hook, (void *)handle);
    return 0;
}

/* ---------- credential caches ---------- */

static krb5_error_code full_name(krb5_context ctx, krb5_ccache cc,
                                 char **fullname, char **errmsg) {
    char *n = NULL;
    krb5_error_code code = krb5_cc_get_full_name(ctx, cc, &n);
    if (code)
        return fail(ctx, code, errmsg);
    *fullname = dupstr(n);
    krb5_free_string(ctx, n);
    return 0;
}

/* Finishes opening a cache: on success fills *fullname, else releases it. */
static krb5_error_code opened(krb5_context ctx, krb5_error_code code,
                              krb5_ccache *out, char **fullname,
                              char **errmsg) {
    if (code)
        return fail(ctx, code, errmsg);
    code = full_name(ctx, *out, fullname, errmsg);
    if (code) {
        krb5_cc_close(ctx, *out);
        *out = NULL;
    }
    return code;
}

krb5_error_code smbkrb_cc_new_memory(krb5_context ctx, krb5_ccache *out,
                                     char **name, char **errmsg) {
    return opened(ctx, krb5_cc_new_unique(ctx, "MEMORY", NULL, out), out,
                  name, errmsg);
}

krb5_error_code smbkrb_cc_resolve(krb5_context ctx, const char *name,
                                  krb5_ccache *out, char **fullname,
                                  char **errmsg) {
    return opened(ctx, krb5_cc_resolve(ctx, name, out), out, fullname,
                  errmsg);
}

krb5_error_code smbkrb_cc_default(krb5_context ctx, krb5_ccache *out,
                                  char **fullname, char **errmsg) {
    return opened(ctx, krb5_cc_default(ctx, out), out, fullname, errmsg);
}

krb5_error_code smbkrb_cc_initialize(krb5_context ctx, krb5_ccache cc,
                                     const char *principal, char **errmsg) {
    krb5_principal p = NULL;
    krb5_error_code code = krb5_parse_name(ctx, principal, &p);
    if (code)
        return fail(ctx, code, errmsg);
    code = krb5_cc_initialize(ctx, cc, p);
    krb5_free_principal(ctx, p);
    return fail(ctx, code, errmsg);
}

krb5_error_code smbkrb_cc_principal(krb5_context ctx, krb5_ccache cc,
                                    char **name, char **errmsg) {
    krb5_principal p = NULL;
    char *s = NULL;
    krb5_error_code code = krb5_cc_get_principal(ctx, cc, &p);
    if (code)
        return fail(ctx, code, errmsg);
    code = krb5_unparse_name(ctx, p, &s);
    krb5_free_principal(ctx, p);
    if (code)
        return fail(ctx, code, errmsg);
    *name = dupstr(s);
    krb5_free_unparsed_name(ctx, s);
    return 0;
}

krb5_error_code smbkrb_cc_list(krb5_context ctx, krb5_ccache cc,
                               smbkrb_cred_info **out, int *n, char **errmsg) {
    krb5_cc_cursor cur;
    krb5_creds c;
    krb5_error_code code;
    smbkrb_cred_info *infos = NULL, *grown;
    int count = 0, cap = 0;

    *out = NULL;
    *n = 0;
    code = krb5_cc_start_seq_get(ctx, cc, &cur);
    if (code)
        return fail(ctx, code, errmsg);
    while ((code = krb5_cc_next_cred(ctx, cc, &cur, &c)) == 0) {
        if (krb5_is_config_principal(ctx, c.server)) {
            krb5_free_cred_contents(ctx, &c);
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            grown = realloc(infos, (size_t)cap * sizeof(*infos));
            if (grown == NULL) {
                krb5_free_cred_contents(ctx, &c);
                code = ENOMEM;
                break;
            }
            infos = grown;
        }
        code = fill_info(ctx, &c, &infos[count]);
        count++;
        /* krb5_free_cred_contents zeroes the session key. */
        krb5_free_cred_contents(ctx, &c);
        if (code)
            break;
    }
    krb5_cc_end_seq_get(ctx, cc, &cur);
    if (code == KRB5_CC_END)
        code = 0;
    if (code) {
        smbkrb_free_cred_infos(infos, count);
        return fail(ctx, code, errmsg);
    }
    *out = infos; /* released by smbkrb_free_cred_infos */
    *n = count;
    return 0;
}

krb5_error_code smbkrb_cc_destroy(krb5_context ctx, krb5_ccache cc,
                                  char **errmsg) {
    return fail(ctx, krb5_cc_destroy(ctx, cc), errmsg);
}

/* ---------- tickets ---------- */

krb5_error_code smbkrb_init_creds(krb5_context ctx, krb5_ccache cc,
                                  const char *client, int enterprise,
                                  const char *password, const char *keytab,
                                  int32_t lifetime, int32_t renew_life,
                                  int forwardable, char **client_out,
                                  char **errmsg) {
    krb5_principal p = NULL;
    krb5_get_init_creds_opt *opt = NULL;
    krb5_keytab kt = NULL;
    krb5_creds creds;
    krb5_error_code code;
    char *s = NULL;

    memset(&creds, 0, sizeof(creds));
    code = krb5_parse_name_flags(
        ctx, client, enterprise ? KRB5_PRINCIPAL_PARSE_ENTERPRISE : 0, &p);
    if (code)
        goto out;
    code = krb5_get_init_creds_opt_alloc(ctx, &opt);
    if (code)
        goto out;
    if (enterprise)
        krb5_get_init_creds_opt_set_canonicalize(opt, 1);
    if (lifetime > 0)
        krb5_get_init_creds_opt_set_tkt_life(opt, lifetime);
    if (renew_life > 0)
        krb5_get_init_creds_opt_set_renew_life(opt, renew_life);
    krb5_get_init_creds_opt_set_forwardable(opt, forwardable);
    /* MIT initializes cc with the (canonical) client and stores the TGT. */
    code = krb5_get_init_creds_opt_set_out_ccache(ctx, opt, cc);
    if (code)
        goto out;
    if (keytab != NULL) {
        code = krb5_kt_resolve(ctx, keytab, &kt);
        if (code)
            goto out;
        code = krb5_get_init_creds_keytab(ctx, &creds, p, kt, 0, NULL, opt);
    } else {
        code = krb5_get_init_creds_password(ctx, &creds, p, password, NULL,
                                            NULL, 0, NULL, opt);
    }
    if (code)
        goto out;
    code = krb5_unparse_name(ctx, creds.client, &s);
    if (code)
        goto out;
    *client_out = dupstr(s);
    krb5_free_unparsed_name(ctx, s);
out:
    fail(ctx, code, errmsg);
    krb5_free_cred_contents(ctx, &creds); /* zeroes the session key */
    if (kt != NULL)
        krb5_kt_close(ctx, kt);
    if (opt != NULL)
        krb5_get_init_creds_opt_free(ctx, opt);
    krb5_free_principal(ctx, p);
    return code;
}

krb5_error_code smbkrb_get_service(krb5_context ctx, krb5_ccache cc,
                                   const char *server, int referral,
                                   int cache_only, smbkrb_cred_info *out,
                                   char **errmsg) {
    krb5_creds in, *got = NULL;
    krb5_principal client = NULL, srv = NULL;
    krb5_error_code code;

    memset(&in, 0, sizeof(in));
    memset(out, 0, sizeof(*out));
    code = krb5_cc_get_principal(ctx, cc, &client);
    if (code)
        goto out;
    /* With referral set the name has no realm and none is added: MIT then
     * starts at the client's realm and follows the KDC's referrals. */
    code = krb5_parse_name_flags(
        ctx, server,
        referral ? KRB5_PRINCIPAL_PARSE_NO_REALM | KRB5_PRINCIPAL_PARSE_NO_DEF_REALM
                 : KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
        &srv);
    if (code)
        goto out;
    in.client = client;
    in.server = srv;
    /* got is released with krb5_free_creds (which zeroes its key). */
    code = krb5_get_credentials(ctx, cache_only ? KRB5_GC_CACHED : 0, cc, &in,
                                &got);
    if (code)
        goto out;
    code = fill_info(ctx, got, out);
out:
    fail(ctx, code, errmsg);
    if (got != NULL)
        krb5_free_creds(ctx, got);
    krb5_free_principal(ctx, client);
    krb5_free_principal(ctx, srv);
    return code;
}

krb5_error_code smbkrb_store_cred(krb5_context ctx, krb5_ccache cc, int init,
                                  const char *client, const char *server,
                                  int32_t enctype, const uint8_t *key,
                                  size_t keylen, int64_t authtime,
                                  int64_t starttime, int64_t endtime,
                                  int64_t renew_till, uint32_t flags,
                                  const uint8_t *ticket, size_t ticketlen,
                                  char **errmsg) {
    krb5_creds c;
    krb5_error_code code;

    memset(&c, 0, sizeof(c));
    code = krb5_parse_name(ctx, client, &c.client);
    if (code)
        goto out;
    code = krb5_parse_name(ctx, server, &c.server);
    if (code)
        goto out;
    /* key and ticket stay owned by the caller: point at them, never free. */
    c.keyblock.magic = KV5M_KEYBLOCK;
    c.keyblock.enctype = enctype;
    c.keyblock.length = (unsigned int)keylen;
    c.keyblock.contents = (krb5_octet *)key;
    c.times.authtime = (krb5_timestamp)(uint32_t)authtime;
    c.times.starttime = (krb5_timestamp)(uint32_t)starttime;
    c.times.endtime = (krb5_timestamp)(uint32_t)endtime;
    c.times.renew_till = (krb5_timestamp)(uint32_t)renew_till;
    c.ticket_flags = (krb5_flags)flags;
    c.ticket.magic = KV5M_DATA;
    c.ticket.length = (unsigned int)ticketlen;
    c.ticket.data = (char *)ticket;
    code = maybe_init(ctx, cc, init, c.client);
    if (code)
        goto out;
    code = krb5_cc_store_cred(ctx, cc, &c);
out:
    fail(ctx, code, errmsg);
    krb5_free_principal(ctx, c.client);
    krb5_free_principal(ctx, c.server);
    return code;
}

krb5_error_code smbkrb_rd_cred(krb5_context ctx, krb5_ccache cc, int init,
                               const uint8_t *der, size_t len,
                               smbkrb_cred_info **out, int *n, char **errmsg) {
    krb5_auth_context ac = NULL;
    krb5_creds **creds = NULL;
    krb5_data in;
    krb5_error_code code;
    smbkrb_cred_info *infos = NULL;
    int count = 0, i;

    *out = NULL;
    *n = 0;
    code = krb5_auth_con_init(ctx, &ac);
    if (code)
        goto out;
    /* No keys and no replay cache: the enc-part must be unencrypted. */
    code = krb5_auth_con_setflags(ctx, ac, 0);
    if (code)
        goto out;
    in.magic = KV5M_DATA;
    in.length = (unsigned int)len;
    in.data = (char *)der;
    /* creds is released with krb5_free_tgt_creds (zeroes the keys). */
    code = krb5_rd_cred(ctx, ac, &in, &creds, NULL);
    if (code)
        goto out;
    for (count = 0; creds[count] != NULL; count++)
        ;
    if (count == 0) {
        code = KRB5_CC_NOTFOUND;
        goto out;
    }
    code = maybe_init(ctx, cc, init, creds[0]->client);
    if (code)
        goto out;
    infos = calloc((size_t)count, sizeof(*infos));
    if (infos == NULL) {
        code = ENOMEM;
        goto out;
    }
    for (i = 0; i < count; i++) {
        code = krb5_cc_store_cred(ctx, cc, creds[i]);
        if (code)
            goto out;
        code = fill_info(ctx, creds[i], &infos[i]);
        if (code)
            goto out;
    }
    *out = infos; /* released by smbkrb_free_cred_infos */
    *n = count;
    infos = NULL;
out:
    fail(ctx, code, errmsg);
    smbkrb_free_cred_infos(infos, count);
    if (creds != NULL)
        krb5_free_tgt_creds(ctx, creds);
    if (ac != NULL)
        krb5_auth_con_free(ctx, ac);
    return code;
}

krb5_error_code smbkrb_mk_cred(krb5_context ctx, krb5_ccache cc,
                               const char *server, uint8_t **out,
                               size_t *outlen, char **errmsg) {
    krb5_auth_context ac = NULL;
    krb5_creds match, got;
    krb5_data *der = NULL;
    krb5_error_code code;
    int have = 0;

    memset(&match, 0, sizeof(match));
    memset(&got, 0, sizeof(got));
    *out = NULL;
    *outlen = 0;
    code = krb5_cc_get_principal(ctx, cc, &match.client);
    if (code)
        goto out;
    code = krb5_parse_name(ctx, server, &match.server);
    if (code)
        goto out;
    code = krb5_cc_retrieve_cred(ctx, cc, 0, &match, &got);
    if (code)
        goto out;
    have = 1;
    code = krb5_auth_con_init(ctx, &ac);
    if (code)
        goto out;
    code = krb5_auth_con_setflags(ctx, ac, 0);
    if (code)
        goto out;
    /* With no key in ac, MIT leaves the enc-part unencrypted. */
    code = krb5_mk_1cred(ctx, ac, &got, &der, NULL);
    if (code)
        goto out;
    *out = malloc(der->length); /* released by smbkrb_free_secret */
    if (*out == NULL) {
        code = ENOMEM;
        goto out;
    }
    memcpy(*out, der->data, der->length);
    *outlen = der->length;
out:
    fail(ctx, code, errmsg);
    if (der != NULL) {
        explicit_bzero(der->data, der->length);
        krb5_free_data(ctx, der);
    }
    if (have)
        krb5_free_cred_contents(ctx, &got);
    krb5_free_principal(ctx, match.client);
    krb5_free_principal(ctx, match.server);
    if (ac != NULL)
        krb5_auth_con_free(ctx, ac);
    return code;
}

krb5_error_code smbkrb_cc_retrieve(krb5_context ctx, krb5_ccache cc,
                                   const char *server, smbkrb_cred_info *out,
                                   uint8_t **key, size_t *keylen,
                                   char **errmsg) {
    krb5_creds match, got;
    krb5_error_code code;
    int have = 0;

    memset(&match, 0, sizeof(match));
    memset(&got, 0, sizeof(got));
    memset(out, 0, sizeof(*out));
    *key = NULL;
    *keylen = 0;
    code = krb5_cc_get_principal(ctx, cc, &match.client);
    if (code)
        goto out;
    code = krb5_parse_name(ctx, server, &match.server);
    if (code)
        goto out;
    /* got is released below with krb5_free_cred_contents (zeroes the key). */
    code = krb5_cc_retrieve_cred(ctx, cc, 0, &match, &got);
    if (code)
        goto out;
    have = 1;
    code = fill_info(ctx, &got, out);
    if (code)
        goto out;
    if (got.keyblock.length > 0) {
        *key = malloc(got.keyblock.length); /* released by smbkrb_free_secret */
        if (*key == NULL) {
            code = ENOMEM;
            goto out;
        }
        memcpy(*key, got.keyblock.contents, got.keyblock.length);
        *keylen = got.keyblock.length;
    }
out:
    fail(ctx, code, errmsg);
    if (code) {
        smbkrb_free_secret(*key, *keylen);
        *key = NULL;
        *keylen = 0;
        smbkrb_clear_cred_info(out);
    }
    if (have)
        krb5_free_cred_contents(ctx, &got);
    krb5_free_principal(ctx, match.client);
    krb5_free_principal(ctx, match.server);
    return code;
}

krb5_error_code smbkrb_c_crypt(krb5_context ctx, int decrypt, int32_t enctype,
                               const uint8_t *key, size_t keylen,
                               int32_t usage, const uint8_t *in, size_t inlen,
                               uint8_t **out, size_t *outlen, char **errmsg) {
    krb5_keyblock kb;
    krb5_enc_data enc;
    krb5_data plain;
    size_t n = 0, cap = 0;
    krb5_error_code code;

    *out = NULL;
    *outlen = 0;
    /* The key stays owned by the caller: point at it, never free. */
    memset(&kb, 0, sizeof(kb));
    kb.magic = KV5M_KEYBLOCK;
    kb.enctype = enctype;
    kb.length = (unsigned int)keylen;
    kb.contents = (krb5_octet *)key;
    memset(&enc, 0, sizeof(enc));
    enc.magic = KV5M_ENC_DATA;
    enc.enctype = enctype;
    memset(&plain, 0, sizeof(plain));
    plain.magic = KV5M_DATA;
    if (decrypt) {
        enc.ciphertext.length = (unsigned int)inlen;
        enc.ciphertext.data = (char *)in;
        n = inlen; /* the plaintext is never longer than the ciphertext */
    } else {
        code = krb5_c_encrypt_length(ctx, enctype, inlen, &n);
        if (code)
            goto out;
        plain.length = (unsigned int)inlen;
        plain.data = (char *)in;
    }
    cap = n > 0 ? n : 1;
    *out = malloc(cap); /* released by smbkrb_free_secret */
    if (*out == NULL) {
        code = ENOMEM;
        goto out;
    }
    if (decrypt) {
        krb5_data dst = {KV5M_DATA, (unsigned int)n, (char *)*out};
        code = krb5_c_decrypt(ctx, &kb, usage, NULL, &enc, &dst);
        n = dst.length;
    } else {
        enc.ciphertext.length = (unsigned int)n;
        enc.ciphertext.data = (char *)*out;
        code = krb5_c_encrypt(ctx, &kb, usage, NULL, &plain, &enc);
        n = enc.ciphertext.length;
    }
    if (code)
        goto out;
    *outlen = n;
out:
    fail(ctx, code, errmsg);
    if (code && *out != NULL) {
        smbkrb_free_secret(*out, cap);
        *out = NULL;
    }
    return code;
}

/* ---------- GSS-API ---------- */

OM_uint32 smbkrb_gss_initiator_cred(const char *ccache, const char *target,
                                    gss_cred_id_t *cred, gss_name_t *name,
                                    OM_uint32 *minor, char **errmsg) {
    gss_key_value_element_desc el = {"ccache", ccache};
    gss_key_value_set_desc store = {1, &el};
    gss_OID_set_desc mechs = {1, gss_mech_krb5};
    gss_buffer_desc nb;
    OM_uint32 major, tmp;

    *cred = GSS_C_NO_CREDENTIAL;
    *name = GSS_C_NO_NAME;
    /* The cache is named in the call: never the process-wide default. */
    major = gss_acquire_cred_from(minor, GSS_C_NO_NAME, GSS_C_INDEFINITE,
                                  &mechs, GSS_C_INITIATE, &store, cred, NULL,
                                  NULL);
    if (GSS_ERROR(major))
        return gfail(major, *minor, errmsg);
    nb.value = (void *)target;
    nb.length = strlen(target);
    major = gss_import_name(minor, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, name);
    if (GSS_ERROR(major)) {
        gfail(major, *minor, errmsg);
        gss_release_cred(&tmp, cred);
        return major;
    }
    return major;
}

OM_uint32 smbkrb_gss_acceptor_cred(const char *keytab, const char *rcache,
                                   gss_cred_id_t *cred, OM_uint32 *minor,
                                   char **errmsg) {
    gss_key_value_element_desc el[2];
    gss_key_value_set_desc store = {0, el};
    gss_OID_set_desc mechs = {1, gss_mech_krb5};
    OM_uint32 major;

    el[store.count].key = "keytab";
    el[store.count].value = keytab;
    store.count++;
    if (rcache != NULL) {
        el[store.count].key = "rcache";
        el[store.count].value = rcache;
        store.count++;
    }
    *cred = GSS_C_NO_CREDENTIAL;
    major = gss_acquire_cred_from(minor, GSS_C_NO_NAME, GSS_C_INDEFINITE,
                                  &mechs, GSS_C_ACCEPT, &store, cred, NULL,
                                  NULL);
    if (GSS_ERROR(major))
        return gfail(major, *minor, errmsg);
    return major;
}

/* Copies a GSS buffer into malloc'd memory and releases it. */
static int take(gss_buffer_desc *b, void **out, size_t *outlen) {
    OM_uint32 tmp;
    *out = NULL;
    *outlen = 0;
    if (b->length > 0) {
        *out = malloc(b->length); /* released by smbkrb_gss_free_buffer */
        if (*out == NULL) {
            gss_release_buffer(&tmp, b);
            return ENOMEM;
        }
        memcpy(*out, b->value, b->length);
        *outlen = b->length;
    }
    gss_release_buffer(&tmp, b);
    return 0;
}

OM_uint32 smbkrb_gss_init(gss_cred_id_t cred, gss_ctx_id_t *ctx,
                          gss_name_t target, uint32_t req_flags,
                          const void *in, size_t inlen, void **out,
                          size_t *outlen, uint32_t *ret_flags, int *complete,
                          OM_uint32 *minor, char **errmsg) {
    gss_buffer_desc ib = {inlen, (void *)in};
    gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, flags = 0;

    *complete = 0;
    major = gss_init_sec_context(minor, cred, ctx, target, gss_mech_krb5,
                                 req_flags, GSS_C_INDEFINITE,
                                 GSS_C_NO_CHANNEL_BINDINGS,
                                 inlen > 0 ? &ib : GSS_C_NO_BUFFER, NULL, &ob,
                                 &flags, NULL);
    if (GSS_ERROR(major)) {
        OM_uint32 tmp;
        gss_release_buffer(&tmp, &ob);
        return gfail(major, *minor, errmsg);
    }
    if (take(&ob, out, outlen) != 0) {
        *minor = ENOMEM;
        return gfail(GSS_S_FAILURE, ENOMEM, errmsg);
    }
    *ret_flags = flags;
    *complete = (major == GSS_S_COMPLETE);
    return major;
}

OM_uint32 smbkrb_gss_accept(gss_cred_id_t cred, gss_ctx_id_t *ctx,
                            const void *in, size_t inlen, void **out,
                            size_t *outlen, char **peer, uint32_t *ret_flags,
                            int *complete, OM_uint32 *minor, char **errmsg) {
    gss_buffer_desc ib = {inlen, (void *)in};
    gss_buffer_desc ob = GSS_C_EMPTY_BUFFER, nb = GSS_C_EMPTY_BUFFER;
    gss_name_t src = GSS_C_NO_NAME;
    OM_uint32 major, flags = 0, tmp;

    *complete = 0;
    *peer = NULL;
    major = gss_accept_sec_context(minor, ctx, cred, &ib,
                                   GSS_C_NO_CHANNEL_BINDINGS, &src, NULL, &ob,
                                   &flags, NULL, NULL);
    if (GSS_ERROR(major)) {
        gss_release_buffer(&tmp, &ob);
        return gfail(major, *minor, errmsg);
    }
    if (src != GSS_C_NO_NAME) {
        if (gss_display_name(&tmp, src, &nb, NULL) == GSS_S_COMPLETE) {
            *peer = strndup(nb.value, nb.length); /* free()d by Go */
            gss_release_buffer(&tmp, &nb);
        }
        gss_release_name(&tmp, &src);
    }
    if (take(&ob, out, outlen) != 0) {
        *minor = ENOMEM;
        return gfail(GSS_S_FAILURE, ENOMEM, errmsg);
    }
    *ret_flags = flags;
    *complete = (major == GSS_S_COMPLETE);
    return major;
}

OM_uint32 smbkrb_gss_get_mic(gss_ctx_id_t ctx, const void *msg, size_t len,
                             void **out, size_t *outlen, OM_uint32 *minor,
                             char **errmsg) {
    gss_buffer_desc mb = {len, (void *)msg};
    gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
    OM_uint32 major = gss_get_mic(minor, ctx, GSS_C_QOP_DEFAULT, &mb, &ob);
    if (GSS_ERROR(major))
        return gfail(major, *minor, errmsg);
    if (take(&ob, out, outlen) != 0) {
        *minor = ENOMEM;
        return gfail(GSS_S_FAILURE, ENOMEM, errmsg);
    }
    return major;
}

OM_uint32 smbkrb_gss_verify_mic(gss_ctx_id_t ctx, const void *msg, size_t len,
                                const void *mic, size_t miclen,
                                OM_uint32 *minor, char **errmsg) {
    gss_buffer_desc mb = {len, (void *)msg};
    gss_buffer_desc tb = {miclen, (void *)mic};
    OM_uint32 major = gss_verify_mic(minor, ctx, &mb, &tb, NULL);
    if (GSS_ERROR(major))
        return gfail(major, *minor, errmsg);
    return major;
}

OM_uint32 smbkrb_gss_session_key(gss_ctx_id_t ctx, uint8_t **key,
                                 size_t *keylen, int32_t *enctype,
                                 OM_uint32 *minor, char **errmsg) {
    /* 1.2.840.113554.1.2.2.4: GSS_KRB5_SESSION_KEY_ENCTYPE_OID; the
     * enctype follows as one more base-128 arc. */
    static const unsigned char prefix[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                           0x12, 0x01, 0x02, 0x02, 0x04};
    gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
    OM_uint32 major, tmp;
    const unsigned char *p;
    size_t i, n;
    int64_t et = 0;

    *key = NULL;
    *keylen = 0;
    *enctype = 0;
    /* set is released below with gss_release_buffer_set after zeroing. */
    major = gss_inquire_sec_context_by_oid(minor, ctx,
                                           GSS_C_INQ_SSPI_SESSION_KEY, &set);
    if (GSS_ERROR(major))
        return gfail(major, *minor, errmsg);
    if (set == GSS_C_NO_BUFFER_SET || set->count < 1 ||
        set->elements[0].length == 0) {
        major = GSS_S_FAILURE;
        *minor = 0;
        *errmsg = strdup("GSS returned no session key");
        goto out;
    }
    if (set->count >= 2) {
        p = set->elements[1].value;
        n = set->elements[1].length;
        if (n > sizeof(prefix) && memcmp(p, prefix, sizeof(prefix)) == 0) {
            for (i = sizeof(prefix); i < n && i < sizeof(prefix) + 5; i++) {
                et = (et << 7) | (p[i] & 0x7f);
                if ((p[i] & 0x80) == 0)
                    break;
            }
            *enctype = (int32_t)et;
        }
    }
    *key = malloc(set->elements[0].length); /* released by smbkrb_free_secret */
    if (*key == NULL) {
        major = GSS_S_FAILURE;
        *minor = ENOMEM;
        *errmsg = strdup("out of memory");
        goto out;
    }
    memcpy(*key, set->elements[0].value, set->elements[0].length);
    *keylen = set->elements[0].length;
out:
    if (set != GSS_C_NO_BUFFER_SET) {
        for (i = 0; i < set->count; i++)
            explicit_bzero(set->elements[i].value, set->elements[i].length);
        gss_release_buffer_set(&tmp, &set);
    }
    return major;
}

void smbkrb_gss_release(gss_ctx_id_t *ctx, gss_cred_id_t *cred,
                        gss_name_t *name) {
    OM_uint32 tmp;
    if (ctx != NULL && *ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&tmp, ctx, GSS_C_NO_BUFFER);
    if (cred != NULL && *cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&tmp, cred);
    if (name != NULL && *name != GSS_C_NO_NAME)
        gss_release_name(&tmp, name);
}
