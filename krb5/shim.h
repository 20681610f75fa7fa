/*
 * The C side of package krb5: one function per Go call.
 *
 * Contract (also what a C integrator on a platform without Go relies on):
 *  - Every function that can fail returns the MIT error code (krb5) or the
 *    GSS major status (smbkrb_gss_*), and on failure stores in *errmsg a
 *    malloc'd, NUL-terminated message fetched in the same call (MIT keeps
 *    GSS minor-status text per thread). The caller frees it with free().
 *  - Outputs returned through pointers are owned by the caller and are
 *    released with the function named next to them.
 *  - No pointer passed in is kept after the call returns.
 *  - Secret buffers (keys, passwords) are zeroed before they are freed.
 */
#ifndef SMBKRB_SHIM_H
#define SMBKRB_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <krb5/krb5.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <gssapi/gssapi_ext.h>

/* Returned by the Go send hook when the Go side has no transport for a
 * realm and MIT should send the message itself (environment mode only). */
#define SMBKRB_SEND_PASS 1

/* One credential as listed from a cache or imported. Strings are malloc'd;
 * release an array with smbkrb_free_cred_infos. */
typedef struct {
    char *client;
    char *server;
    int32_t key_enctype;
    int64_t authtime, starttime, endtime, renew_till;
    uint32_t flags;
    uint8_t *ticket; /* DER of the ticket, malloc'd */
    size_t ticket_len;
} smbkrb_cred_info;

void smbkrb_free_cred_infos(smbkrb_cred_info *infos, int n);
/* Frees what one smbkrb_cred_info points to (not the struct itself). */
void smbkrb_clear_cred_info(smbkrb_cred_info *info);
void smbkrb_free_secret(void *p, size_t len);

/* Context. profile_path is a colon-separated file list read in order;
 * handle is passed back to the Go send hook. Release: krb5_free_context. */
/* A context with an empty profile, for RFC 3961 cryptography only: it
 * reads no file and has no KDC send hook. */
krb5_error_code smbkrb_init_crypto_context(krb5_context *out, char **errmsg);
krb5_error_code smbkrb_init_context(const char *profile_path, uintptr_t handle,
                                    krb5_context *out, char **errmsg);

/* Credential caches. Release a cache with krb5_cc_close (keeps the
 * contents) or smbkrb_cc_destroy (removes them). */
krb5_error_code smbkrb_cc_new_memory(krb5_context ctx, krb5_ccache *out,
                                     char **name, char **errmsg);
krb5_error_code smbkrb_cc_resolve(krb5_context ctx, const char *name,
                                  krb5_ccache *out, char **fullname,
                                  char **errmsg);
krb5_error_code smbkrb_cc_default(krb5_context ctx, krb5_ccache *out,
                                  char **fullname, char **errmsg);
krb5_error_code smbkrb_cc_initialize(krb5_context ctx, krb5_ccache cc,
                                     const char *principal, char **errmsg);
krb5_error_code smbkrb_cc_principal(krb5_context ctx, krb5_ccache cc,
                                    char **name, char **errmsg);
krb5_error_code smbkrb_cc_list(krb5_context ctx, krb5_ccache cc,
                               smbkrb_cred_info **out, int *n, char **errmsg);
krb5_error_code smbkrb_cc_destroy(krb5_context ctx, krb5_ccache cc,
                                  char **errmsg);

/* Initial credentials into cc (initialized with the client). Exactly one
 * of password and keytab is non-NULL. The canonical client name is
 * returned in *client_out (free()). */
krb5_error_code smbkrb_init_creds(krb5_context ctx, krb5_ccache cc,
                                  const char *client, int enterprise,
                                  const char *password, const char *keytab,
                                  int32_t lifetime, int32_t renew_life,
                                  int forwardable, char **client_out,
                                  char **errmsg);

/* A service ticket for server (realm "" means: follow referrals from the
 * client's realm), from cc or from the KDC, stored in cc. */
krb5_error_code smbkrb_get_service(krb5_context ctx, krb5_ccache cc,
                                   const char *server, int referral,
                                   int cache_only, smbkrb_cred_info *out,
                                   char **errmsg);

/* Stores one credential built from decoded fields. init: 0 never
 * initializes the cache, 1 always does (with client), 2 only when the cache
 * has no default principal yet. */
krb5_error_code smbkrb_store_cred(krb5_context ctx, krb5_ccache cc, int init,
                                  const char *client, const char *server,
                                  int32_t enctype, const uint8_t *key,
                                  size_t keylen, int64_t authtime,
                                  int64_t starttime, int64_t endtime,
                                  int64_t renew_till, uint32_t flags,
                                  const uint8_t *ticket, size_t ticketlen,
                                  char **errmsg);

/* Imports a KRB-CRED whose enc-part is unencrypted (or encrypted with no
 * key we hold: then it fails). init as for smbkrb_store_cred, with the
 * first credential's client. Stored credentials are listed in *out. */
krb5_error_code smbkrb_rd_cred(krb5_context ctx, krb5_ccache cc, int init,
                               const uint8_t *der, size_t len,
                               smbkrb_cred_info **out, int *n, char **errmsg);

/* Exports the credential for server from cc as a KRB-CRED with an
 * unencrypted enc-part. *out holds a session key: release it with
 * smbkrb_free_secret. */
krb5_error_code smbkrb_mk_cred(krb5_context ctx, krb5_ccache cc,
                               const char *server, uint8_t **out,
                               size_t *outlen, char **errmsg);

/* The credential for server (a full name with realm) and the cache's
 * principal, with its session key: strings and ticket as for
 * smbkrb_cred_info (release with smbkrb_clear_cred_info(out)), the key
 * in *key (release with smbkrb_free_secret). */
krb5_error_code smbkrb_cc_retrieve(krb5_context ctx, krb5_ccache cc,
                                   const char *server, smbkrb_cred_info *out,
                                   uint8_t **key, size_t *keylen,
                                   char **errmsg);

/* RFC 3961 encryption (decrypt 0) or decryption (decrypt 1) of in with the
 * raw key of type enctype for key usage usage: the cipher field of an
 * EncryptedData. *out is released with smbkrb_free_secret. */
krb5_error_code smbkrb_c_crypt(krb5_context ctx, int decrypt, int32_t enctype,
                               const uint8_t *key, size_t keylen,
                               int32_t usage, const uint8_t *in, size_t inlen,
                               uint8_t **out, size_t *outlen, char **errmsg);

/* GSS-API, raw Kerberos mechanism. minor receives the mechanism status. */
OM_uint32 smbkrb_gss_initiator_cred(const char *ccache, const char *target,
                                    gss_cred_id_t *cred, gss_name_t *name,
                                    OM_uint32 *minor, char **errmsg);
OM_uint32 smbkrb_gss_acceptor_cred(const char *keytab, const char *rcache,
                                   gss_cred_id_t *cred, OM_uint32 *minor,
                                   char **errmsg);
/* One step of gss_init_sec_context. *out is released with
 * smbkrb_gss_free_buffer. */
OM_uint32 smbkrb_gss_init(gss_cred_id_t cred, gss_ctx_id_t *ctx,
                          gss_name_t target, uint32_t req_flags,
                          const void *in, size_t inlen, void **out,
                          size_t *outlen, uint32_t *ret_flags, int *complete,
                          OM_uint32 *minor, char **errmsg);
/* One step of gss_accept_sec_context; *peer (free()) is the initiator. */
OM_uint32 smbkrb_gss_accept(gss_cred_id_t cred, gss_ctx_id_t *ctx,
                            const void *in, size_t inlen, void **out,
                            size_t *outlen, char **peer, uint32_t *ret_flags,
                            int *complete, OM_uint32 *minor, char **errmsg);
OM_uint32 smbkrb_gss_get_mic(gss_ctx_id_t ctx, const void *msg, size_t len,
                             void **out, size_t *outlen, OM_uint32 *minor,
                             char **errmsg);
OM_uint32 smbkrb_gss_verify_mic(gss_ctx_id_t ctx, const void *msg, size_t len,
                                const void *mic, size_t miclen,
                                OM_uint32 *minor, char **errmsg);
/* The SSPI session key (acceptor subkey if any). *key is released with
 * smbkrb_free_secret. */
OM_uint32 smbkrb_gss_session_key(gss_ctx_id_t ctx, uint8_t **key,
                                 size_t *keylen, int32_t *enctype,
                                 OM_uint32 *minor, char **errmsg);
void smbkrb_gss_free_buffer(void *p, size_t len);
/* Deletes the context (MIT zeroes its keys) and releases cred and name. */
void smbkrb_gss_release(gss_ctx_id_t *ctx, gss_cred_id_t *cred,
                        gss_name_t *name);

#endif
