/*
 * capi.h: what the Go side of libsmbkrb sees of C. Not installed: the
 * public contract is include/smbkrb.h, which this includes, so that the
 * compiler checks every exported Go function against its declaration
 * there (cgo's own prototypes are compiled beside these).
 */
#ifndef SMBKRB_CAPI_H
#define SMBKRB_CAPI_H

#include <stdlib.h>
#include "include/smbkrb.h"

/* Every handle is one of these: a magic number naming its kind (zeroed
 * when freed) and the id of the Go object behind it. The public types are
 * incomplete in smbkrb.h; here they are all this one layout. */
struct smbkrb_handle_ {
	uint32_t magic;
	uintptr_t id;
};
struct smbkrb_call { struct smbkrb_handle_ h; };
struct smbkrb_config { struct smbkrb_handle_ h; };
struct smbkrb_cred { struct smbkrb_handle_ h; };
struct smbkrb_session { struct smbkrb_handle_ h; };
struct smbkrb_share { struct smbkrb_handle_ h; };
struct smbkrb_dir { struct smbkrb_handle_ h; };

/* const-qualified names for cgo, whose exported prototypes use the type
 * names of the Go signature: *C.smbkrb_cchar is const char *. */
typedef const char smbkrb_cchar;
typedef const void smbkrb_cvoid;

/* capi.c */
void smbkrb_set_error_(const char *msg, size_t len);
void smbkrb_clear_error_(void);
int smbkrb_write_cb_(smbkrb_write_fn fn, void *user, const void *buf, size_t len);
int smbkrb_read_cb_(smbkrb_read_fn fn, void *user, void *buf, size_t cap, size_t *n);
void smbkrb_progress_cb_(smbkrb_progress_fn fn, void *user, uint64_t done, int64_t total);
int smbkrb_token_cb_(smbkrb_token_fn fn, void *user, char *buf, size_t cap, size_t *len, int64_t *expires);

#endif
