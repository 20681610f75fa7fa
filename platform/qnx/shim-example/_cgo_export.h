/* What krb5/shim.c expects from the program that links it. In the Go
 * package, cgo generates this header from the exported Go function; a C
 * program provides it itself, with its own KDC transport. cgo's header
 * also carries the Go file's preamble, through which shim.c gets <errno.h>
 * (it uses ENOMEM without including it): included here for that. */
#ifndef SMBKRB_EXAMPLE_CGO_EXPORT_H
#define SMBKRB_EXAMPLE_CGO_EXPORT_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Sends msg (a KDC-REQ for realm) and stores the KDC's reply in *reply
 * (malloc'd; MIT frees it) and *reply_len, returning 0; or returns
 * SMBKRB_SEND_PASS to let MIT send msg itself to the profile's kdc
 * entries; or a krb5 error code. handle is the value the program gave
 * smbkrb_init_context. */
int smbkrbGoSend(uintptr_t handle, char *realm, int realm_len, char *msg,
                 int msg_len, char **reply, int *reply_len);

#endif
