/*
 * capi.c: the parts of libsmbkrb that are plain C: the thread-local last
 * error, the status names, and the trampolines through which Go calls the
 * caller's function pointers.
 */
#include <pthread.h>
#include <string.h>

#include "capi.h"

/* The last error of each thread, freed when the thread ends. */
static pthread_key_t err_key;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;

static void err_init(void) { pthread_key_create(&err_key, free); }

void smbkrb_set_error_(const char *msg, size_t len) {
	pthread_once(&err_once, err_init);
	char *old = pthread_getspecific(err_key);
	char *s = malloc(len + 1);
	if (s != NULL) {
		memcpy(s, msg, len);
		s[len] = '\0';
	}
	pthread_setspecific(err_key, s);
	free(old);
}

void smbkrb_clear_error_(void) {
	pthread_once(&err_once, err_init);
	char *old = pthread_getspecific(err_key);
	if (old != NULL) {
		pthread_setspecific(err_key, NULL);
		free(old);
	}
}

const char *smbkrb_last_error(void) {
	pthread_once(&err_once, err_init);
	const char *s = pthread_getspecific(err_key);
	return s != NULL ? s : "";
}

const char *smbkrb_status_name(int status) {
	switch (status) {
	case SMBKRB_OK: return "SMBKRB_OK";
	case SMBKRB_ERR_FAILURE: return "SMBKRB_ERR_FAILURE";
	case SMBKRB_ERR_USAGE: return "SMBKRB_ERR_USAGE";
	case SMBKRB_ERR_AUTH: return "SMBKRB_ERR_AUTH";
	case SMBKRB_ERR_NOT_FOUND: return "SMBKRB_ERR_NOT_FOUND";
	case SMBKRB_ERR_PERMISSION: return "SMBKRB_ERR_PERMISSION";
	case SMBKRB_ERR_POLICY: return "SMBKRB_ERR_POLICY";
	case SMBKRB_ERR_NETWORK: return "SMBKRB_ERR_NETWORK";
	case SMBKRB_ERR_CANCELED: return "SMBKRB_ERR_CANCELED";
	}
	return "SMBKRB_ERR_UNKNOWN";
}

void smbkrb_string_free(char *s) { free(s); }

int smbkrb_write_cb_(smbkrb_write_fn fn, void *user, const void *buf, size_t len) {
	return fn(user, buf, len);
}

int smbkrb_read_cb_(smbkrb_read_fn fn, void *user, void *buf, size_t cap, size_t *n) {
	return fn(user, buf, cap, n);
}

void smbkrb_progress_cb_(smbkrb_progress_fn fn, void *user, uint64_t done, int64_t total) {
	fn(user, done, total);
}

int smbkrb_token_cb_(smbkrb_token_fn fn, void *user, char *buf, size_t cap, size_t *len, int64_t *expires) {
	return fn(user, buf, cap, len, expires);
}
