/*
 * smbkrb.h: libsmbkrb, Kerberos-authenticated SMB3 for C programs.
 *
 * This header is the library's contract. It is written by hand (it is not
 * cgo's generated header), in C99, and it changes only compatibly within
 * one SMBKRB_ABI_VERSION: functions are added, never changed or removed.
 *
 * The rules, for every function here:
 *
 *  - Handles are opaque pointers. Each has one function that frees it
 *    (smbkrb_*_free or smbkrb_*_close); passing NULL to it does nothing.
 *    A freed handle must not be used again.
 *  - Strings are NUL-terminated UTF-8. The library copies what it is
 *    given; the caller may free or overwrite its buffers as soon as a call
 *    returns (a password buffer should be zeroed then).
 *  - What the library returns to the caller is either static (it says so)
 *    or freed with the smbkrb_*_free function named beside it.
 *  - Every function that can fail returns an smbkrb_status: SMBKRB_OK (0)
 *    or an error class. smbkrb_last_error() then says what failed and what
 *    to do, in this API's terms.
 *  - Functions that talk to the network block the calling thread. They
 *    take an optional smbkrb_call that bounds them (timeout), cancels them
 *    (from another thread) and reports progress. With a NULL call, connect
 *    and every metadata operation are bounded by the configuration's
 *    timeout (60 s unless set) and transfers by nothing but the network.
 *  - Handles may be used from several threads at once, except an
 *    smbkrb_dir and an smbkrb_call, which belong to one call at a time.
 *  - Callbacks of a transfer (progress, read, write) run while the call
 *    is in progress, possibly on a thread of the library's rather than
 *    the caller's, never after the call returns; no callback is called
 *    twice at once. They may call smbkrb_call_cancel, and should not
 *    call other blocking functions of the same session.
 *
 * The Go runtime inside the library: see README.md's "C library" section
 * (threads it starts, the signals it handles, and how to embed it).
 */
#ifndef SMBKRB_H
#define SMBKRB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version of this header; smbkrb_abi_version() is the library's. */
#define SMBKRB_ABI_VERSION 1

/* The library's version, e.g. "smbkrb 0.13.0 (libsmbkrb ABI 1, go1.26.0)".
 * Static: never freed. */
const char *smbkrb_version(void);

/* The library's ABI version; a program built against this header should
 * check that it equals SMBKRB_ABI_VERSION. */
int smbkrb_abi_version(void);

/*
 * Status codes. The values are the smbkrb command's exit codes, so that a
 * script and a C program read one failure the same way.
 */
typedef enum smbkrb_status {
	SMBKRB_OK = 0,
	SMBKRB_ERR_FAILURE = 1,    /* anything not below */
	SMBKRB_ERR_USAGE = 2,      /* a wrong argument, setting or handle */
	SMBKRB_ERR_AUTH = 3,       /* Kerberos, Entra or the server refused the login */
	SMBKRB_ERR_NOT_FOUND = 4,  /* no such file, directory or share */
	SMBKRB_ERR_PERMISSION = 5, /* access denied (on the server or locally) */
	SMBKRB_ERR_POLICY = 6,     /* signing or encryption cannot be had as required */
	SMBKRB_ERR_NETWORK = 7,    /* unreachable, connection lost, TLS trust, timeout */
	SMBKRB_ERR_CANCELED = 130  /* smbkrb_call_cancel */
} smbkrb_status;

/* What the last failed call on this thread said: what failed and what to
 * do. Thread-local: each thread sees its own calls' errors. The string is
 * owned by the library and valid until this thread's next smbkrb_ call;
 * "" after a call that succeeded. Never NULL. It holds no secret. */
const char *smbkrb_last_error(void);

/* The name of a status, e.g. "SMBKRB_ERR_AUTH". Static. */
const char *smbkrb_status_name(int status);

/* Frees a string the library returned. */
void smbkrb_string_free(char *s);

/* ------------------------------------------------------------ calls -- */

/* A call's controls: timeout, cancellation, progress. One smbkrb_call
 * serves one blocking call at a time; smbkrb_call_cancel may be called
 * from any thread, at any time. */
typedef struct smbkrb_call smbkrb_call;

/* Progress of a transfer: bytes done and the total (-1 when unknown). */
typedef void (*smbkrb_progress_fn)(void *user, uint64_t done, int64_t total);

int smbkrb_call_new(smbkrb_call **out);
void smbkrb_call_free(smbkrb_call *call);
/* Bounds each call made with it; 0 means the default (see above). */
int smbkrb_call_set_timeout_ms(smbkrb_call *call, int64_t ms);
/* Called after each chunk of a transfer; NULL removes it. */
int smbkrb_call_set_progress(smbkrb_call *call, smbkrb_progress_fn fn, void *user);
/* Makes the call in progress, and every later one with this smbkrb_call,
 * fail with SMBKRB_ERR_CANCELED, promptly. Safe from any thread, also
 * from a signal-handling thread (not from a signal handler). */
void smbkrb_call_cancel(smbkrb_call *call);
/* Clears a cancellation so that the smbkrb_call can be used again. */
int smbkrb_call_reset(smbkrb_call *call);

/* ---------------------------------------------------- configuration -- */

/* The Kerberos and SMB settings of connections. Nothing is read from
 * /etc/krb5.conf or the environment. A configuration may be changed until
 * its first smbkrb_connect and is fixed after it. */
typedef struct smbkrb_config smbkrb_config;

int smbkrb_config_new(smbkrb_config **out);
/* A configuration may be freed while its sessions are open; they keep
 * what they need. */
void smbkrb_config_free(smbkrb_config *cfg);

/* Adds a KDC of realm: "host", "host:port" (TCP; port 88 by default) or
 * an MS-KKDCP proxy URL "https://proxy.example.com/KdcProxy". Several
 * may be added per realm; they are tried in order. */
int smbkrb_config_add_kdc(smbkrb_config *cfg, const char *realm, const char *kdc);
/* The realm of principal names written without one. */
int smbkrb_config_set_default_realm(smbkrb_config *cfg, const char *realm);
/* Maps server host names to a realm: ".example.com" maps every name below
 * it, any other host exactly. The longest match wins. Names are never
 * resolved or canonicalized. */
int smbkrb_config_map_host(smbkrb_config *cfg, const char *host, const char *realm);
/* Trust anchors for KDC proxies and Entra (PEM certificates). Without
 * any, the system's roots are trusted. */
int smbkrb_config_add_ca_file(smbkrb_config *cfg, const char *path);
int smbkrb_config_add_ca_pem(smbkrb_config *cfg, const void *pem, size_t len);
/* Encrypts every session, whatever the server asks (default: only what
 * the server or share requires is encrypted; the rest is signed). */
int smbkrb_config_set_encrypt(smbkrb_config *cfg, int required);
/* The ciphers offered, in order: a comma-separated list of AES-128-GCM,
 * AES-256-GCM, AES-128-CCM, AES-256-CCM. "AES-256-GCM" alone demands it. */
int smbkrb_config_set_ciphers(smbkrb_config *cfg, const char *list);
/* The bound of connect and of each metadata operation when the call sets
 * none (default 60000 ms). */
int smbkrb_config_set_timeout_ms(smbkrb_config *cfg, int64_t ms);
/* A writable directory for the generated Kerberos profile (default
 * $TMPDIR, else /tmp). */
int smbkrb_config_set_temp_dir(smbkrb_config *cfg, const char *dir);
/* Microsoft Entra ID: the tenant (ID or domain) and the authority (NULL
 * for the public cloud, https://login.microsoftonline.com). Needed by
 * smbkrb_cred_entra and by SMB OAuth with smbkrb_cred_oauth_secret. */
int smbkrb_config_set_entra(smbkrb_config *cfg, const char *tenant, const char *authority);
/* The SMB OAuth file endpoint, "https://{account}" by default (a private
 * endpoint sets it; {account} is replaced by the server name). */
int smbkrb_config_set_oauth_endpoint(smbkrb_config *cfg, const char *url);

/* ------------------------------------------------------ credentials -- */

/* Where tickets come from. A credential keeps its tickets in memory and
 * shares them between the sessions that use it, until it is freed. */
typedef struct smbkrb_cred smbkrb_cred;

/* A password login. The library copies the password (and zeroes its copy
 * when the credential is freed); zero the caller's buffer after the call.
 * principal: "alice@EXAMPLE.COM", or "alice" with a default realm. */
int smbkrb_cred_password(const char *principal, const char *password, size_t len, smbkrb_cred **out);
/* A login with a key from a keytab file. */
int smbkrb_cred_keytab(const char *principal, const char *keytab_path, smbkrb_cred **out);
/* The tickets already in a credential cache ("FILE:/path", or a path),
 * e.g. one kinit filled; the library never logs in. */
int smbkrb_cred_ccache(const char *ccache_name, smbkrb_cred **out);
/* Microsoft Entra Kerberos: the device identity and sign-in saved in
 * state_dir by `smbkrb entra register` and `smbkrb entra login` (the
 * cloud TGT is refreshed, and saved again, when it nears its end). Needs
 * smbkrb_config_set_entra. */
int smbkrb_cred_entra(const char *state_dir, smbkrb_cred **out);

/* An access token for Azure Storage (https://storage.azure.com), for SMB
 * OAuth. Write the token (no NUL needed) into buf, at most cap bytes, its
 * length into *len and its expiry (Unix seconds) into *expires; return 0,
 * or non-zero when no token can be had (the call then fails with
 * SMBKRB_ERR_AUTH). It is called before each ticket exchange: during
 * smbkrb_connect, and later from a thread of the library's when an open
 * session renews its ticket, so it must be thread-safe and user must stay
 * valid until the credential and its sessions are gone. Cache tokens and
 * return quickly while one is valid. */
typedef int (*smbkrb_token_fn)(void *user, char *buf, size_t cap, size_t *len, int64_t *expires);
/* The largest token smbkrb_token_fn may write (cap). */
#define SMBKRB_TOKEN_MAX 16384

/* Azure Files SMB OAuth with tokens from the caller. */
int smbkrb_cred_oauth(smbkrb_token_fn fn, void *user, smbkrb_cred **out);
/* Azure Files SMB OAuth as the managed identity of the Azure host
 * (client_id NULL or "" for the system-assigned one). */
int smbkrb_cred_managed_identity(const char *client_id, smbkrb_cred **out);
/* Frees a credential; its tickets are destroyed and its keys zeroed once
 * no session uses them. */
void smbkrb_cred_free(smbkrb_cred *cred);

/* --------------------------------------------------------- sessions -- */

typedef struct smbkrb_session smbkrb_session;
typedef struct smbkrb_share smbkrb_share;

/* Connects to an SMB3 server and authenticates with Kerberos (mutual,
 * signed or encrypted). server is the name in the server's service
 * principal (cifs/server), as in //server/share; addr is where to reach
 * it, "ip", "ip:port" or "host:port", or NULL to resolve server (port
 * 445). Tickets are renewed and the session re-authenticated on its own
 * while it is open. */
int smbkrb_connect(smbkrb_config *cfg, smbkrb_cred *cred, const char *server, const char *addr,
                   smbkrb_call *call, smbkrb_session **out);
/* One line on the session: principal, dialect, signing, cipher. Free it
 * with smbkrb_string_free. */
int smbkrb_session_describe(smbkrb_session *s, char **out);
/* Logs off and closes the connection. It may block up to 15 s: it waits
 * for a cancelled upload's cleanup (at most 10 s), then logs off (at most
 * 5 s). The session's shares then refuse every call with
 * SMBKRB_ERR_USAGE; close them too (before or after). */
void smbkrb_session_close(smbkrb_session *s);

/* Mounts (tree-connects) a share of the session. */
int smbkrb_mount(smbkrb_session *s, const char *share, smbkrb_call *call, smbkrb_share **out);
void smbkrb_share_close(smbkrb_share *sh);

/* ------------------------------------------------------------ files -- */

/* Paths are relative to the share, with '/' or '\\' between names. */

typedef struct smbkrb_stat {
	uint64_t size;       /* bytes */
	int64_t mtime_ns;    /* last write, nanoseconds since the Unix epoch */
	uint32_t attributes; /* FILE_ATTRIBUTE_* of MS-FSCC */
	int is_dir;          /* non-zero for a directory */
} smbkrb_stat;

int smbkrb_stat_path(smbkrb_share *sh, const char *path, smbkrb_call *call, smbkrb_stat *st);

/* A directory listing: open reads it whole; next gives one entry at a
 * time. */
typedef struct smbkrb_dir smbkrb_dir;
int smbkrb_dir_open(smbkrb_share *sh, const char *path, smbkrb_call *call, smbkrb_dir **out);
/* Sets *name (valid until the next smbkrb_dir_next or smbkrb_dir_free)
 * and, if st is not NULL, *st; at the end *name is NULL. */
int smbkrb_dir_next(smbkrb_dir *d, const char **name, smbkrb_stat *st);
void smbkrb_dir_free(smbkrb_dir *d);

/* Makes a directory and any missing parents (an existing one is fine). */
int smbkrb_mkdir_all(smbkrb_share *sh, const char *path, smbkrb_call *call);
/* Removes a file or an empty directory. */
int smbkrb_remove(smbkrb_share *sh, const char *path, smbkrb_call *call);
/* Renames (moves) within the share, replacing an existing file. */
int smbkrb_rename(smbkrb_share *sh, const char *from, const char *to, smbkrb_call *call);

/* Copies a remote file to a local path: the local file is written under
 * a temporary name in the same directory and renamed into place when
 * complete, so it never holds a partial download. *bytes (if not NULL)
 * gets the size. */
int smbkrb_get(smbkrb_share *sh, const char *remote, const char *local_path, smbkrb_call *call, uint64_t *bytes);
/* Copies a local file to a remote path, atomically in the same way: the
 * remote path never holds a partial upload. A failed upload's temporary
 * file (".NAME.smbkrb-RANDOM.part") is removed; after a cancellation or
 * timeout that happens in the background, within 10 s, and
 * smbkrb_session_close waits for it. */
int smbkrb_put(smbkrb_share *sh, const char *local_path, const char *remote, smbkrb_call *call, uint64_t *bytes);

/* A sink for smbkrb_read_to: consume len bytes; return 0, or non-zero to
 * stop the transfer (it then fails with SMBKRB_ERR_FAILURE). */
typedef int (*smbkrb_write_fn)(void *user, const void *buf, size_t len);
/* A source for smbkrb_write_from: fill up to cap bytes, set *n (0 at the
 * end of the data); return 0, or non-zero to stop the transfer. */
typedef int (*smbkrb_read_fn)(void *user, void *buf, size_t cap, size_t *n);

/* Streams a remote file into fn, in order. */
int smbkrb_read_to(smbkrb_share *sh, const char *remote, smbkrb_write_fn fn, void *user,
                   smbkrb_call *call, uint64_t *bytes);
/* Streams fn's data into a remote file, atomically as smbkrb_put. */
int smbkrb_write_from(smbkrb_share *sh, const char *remote, smbkrb_read_fn fn, void *user,
                      smbkrb_call *call, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* SMBKRB_H */
