/*
 * smbkrb_test.c: libsmbkrb from C, against real servers.
 *
 * Plain C99 (and POSIX, XSI: threads, sigaction), no Go. The Go harness beside it
 * (libsmbkrb/lab_test.go, toolchains/crosstest) starts the lab and runs
 * this program in a network namespace whose port 88 is rejected; the
 * environment says where everything is:
 *
 *   SMBKRB_T_MODE      "adds" (password login through a KDC proxy),
 *                      "entra" (a saved Entra sign-in) or "oauth" (Azure
 *                      Files SMB OAuth with the program's own tokens)
 *   SMBKRB_T_REALM, SMBKRB_T_KDC, SMBKRB_T_MAP
 *                      the realm, its KDC (proxy URL) and a host suffix
 *                      mapped to it (adds)
 *   SMBKRB_T_CA        the PEM file of the proxy's (or Entra's) CA
 *   SMBKRB_T_USER      the principal (adds); its password is the first
 *                      line of standard input
 *   SMBKRB_T_KEYTAB, SMBKRB_T_CCACHE
 *                      (adds, optional) a keytab of SMBKRB_T_USER and a
 *                      cache holding its TGT, each tried as a credential
 *   SMBKRB_T_TENANT, SMBKRB_T_AUTHORITY, SMBKRB_T_STATE
 *                      the Entra tenant, authority and state directory
 *   SMBKRB_T_TOKEN_FILE, SMBKRB_T_OAUTH_ENDPOINT
 *                      (oauth) the file the token callback reads the
 *                      access token from, and the file endpoint
 *   SMBKRB_T_MI        (oauth, optional) "1": also connect as the host's
 *                      managed identity (IDENTITY_ENDPOINT and
 *                      IDENTITY_HEADER set, as on App Service)
 *   SMBKRB_T_SERVER, SMBKRB_T_ADDR, SMBKRB_T_SHARE
 *                      the SMB server's name, address and share
 *   SMBKRB_T_BADSPN    a server name that has no service principal
 *   SMBKRB_T_DIR       a local scratch directory
 *   SMBKRB_T_RUN       a name for this run's remote directory
 *   SMBKRB_T_SIZE      bytes of the test file (default 4 MiB + 4321)
 *   SMBKRB_T_CYCLES    connect/get/close cycles of the leak loop (0: none)
 *
 * It prints one line per step ("ok STEP ...", figures as "key=value")
 * and exits 0, or prints "FAIL STEP: ..." and exits 1.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smbkrb.h"

static const char *step = "start";

static void fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL %s: ", step);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

/* check fails the step unless rc is SMBKRB_OK. */
static void check(int rc, const char *what) {
	if (rc != SMBKRB_OK)
		fail("%s: %s: %s", what, smbkrb_status_name(rc), smbkrb_last_error());
}

/* expect fails the step unless rc is want and the message holds text. */
static void expect(int rc, int want, const char *text, const char *what) {
	const char *msg = smbkrb_last_error();
	if (rc != want)
		fail("%s: got %s (%s), want %s", what, smbkrb_status_name(rc), msg, smbkrb_status_name(want));
	if (text != NULL && strstr(msg, text) == NULL)
		fail("%s: the message does not say \"%s\": %s", what, text, msg);
	printf("ok %s: %s: %s\n", step, smbkrb_status_name(rc), msg);
}

static const char *env(const char *name, int required) {
	const char *v = getenv(name);
	if (v == NULL || *v == '\0') {
		if (required)
			fail("%s is not set", name);
		return NULL;
	}
	return v;
}

static double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The test data: a fixed pseudo-random sequence (xorshift64). */
static void fill(unsigned char *buf, size_t n, uint64_t *state) {
	for (size_t i = 0; i < n; i++) {
		uint64_t x = *state;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		buf[i] = (unsigned char)(x >> 24);
	}
}

/* FNV-1a over a byte stream. */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}
#define FNV_INIT 14695981039346656037ULL

static uint64_t file_hash(const char *path, uint64_t *size) {
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail("open %s: %s", path, strerror(errno));
	unsigned char buf[65536];
	uint64_t h = FNV_INIT;
	size_t n;
	*size = 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		h = fnv(h, buf, n);
		*size += n;
	}
	fclose(f);
	return h;
}

/* A number from /proc/self/status: VmRSS (KiB), Threads. */
static long proc_status(const char *key) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

static long rss_kib(void) { return proc_status("VmRSS"); }

static int open_fds(void) {
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the DIR's own */
}

/* ------------------------------------------------------- callbacks -- */

struct progress {
	uint64_t calls, last;
	int64_t total;
};

static void on_progress(void *user, uint64_t done, int64_t total) {
	struct progress *p = user;
	p->calls++;
	p->last = done;
	p->total = total;
}

struct sink {
	uint64_t hash, bytes;
};

static int on_write(void *user, const void *buf, size_t len) {
	struct sink *s = user;
	s->hash = fnv(s->hash, buf, len);
	s->bytes += len;
	return 0;
}

/* A source of size bytes of the test data (endless when size is 0, for
 * cancellation), which can tell another thread that it started. */
struct source {
	uint64_t state, left, hash;
	int endless;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started;
};

static int on_read(void *user, void *buf, size_t cap, size_t *n) {
	struct source *s = user;
	size_t k = cap;
	if (!s->endless && k > s->left)
		k = (size_t)s->left;
	fill(buf, k, &s->state);
	s->hash = fnv(s->hash, buf, k);
	if (!s->endless)
		s->left -= k;
	*n = k;
	pthread_mutex_lock(&s->mu);
	s->started = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

struct canceller {
	struct source *src;
	smbkrb_call *call;
};

/* Waits until the transfer is under way, then cancels it: from another
 * thread, as a firmware's supervisor would. */
static void *cancel_later(void *arg) {
	struct canceller *c = arg;
	pthread_mutex_lock(&c->src->mu);
	while (!c->src->started)
		pthread_cond_wait(&c->src->cv, &c->src->mu);
	pthread_mutex_unlock(&c->src->mu);
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	smbkrb_call_cancel(c->call);
	return NULL;
}

/* ---------------------------------------------------------- signals -- */

/* What the Go runtime inside did to this process's signal handling: it
 * must leave the asynchronous signals a firmware process manages itself
 * (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM) alone. */
static void signals(void) {
	step = "signals";
	static const struct {
		int sig;
		const char *name;
		int untouched;
	} sigs[] = {
		{SIGINT, "SIGINT", 1}, {SIGTERM, "SIGTERM", 1}, {SIGHUP, "SIGHUP", 1},
		{SIGUSR1, "SIGUSR1", 1}, {SIGUSR2, "SIGUSR2", 1}, {SIGCHLD, "SIGCHLD", 1},
		{SIGALRM, "SIGALRM", 1}, {SIGQUIT, "SIGQUIT", 1},
		{SIGSEGV, "SIGSEGV", 0}, {SIGBUS, "SIGBUS", 0}, {SIGFPE, "SIGFPE", 0},
		{SIGPIPE, "SIGPIPE", 0}, {SIGURG, "SIGURG", 0}, {SIGPROF, "SIGPROF", 0},
	};
	char handled[256] = "";
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction sa;
		if (sigaction(sigs[i].sig, NULL, &sa) != 0)
			fail("sigaction(%s): %s", sigs[i].name, strerror(errno));
		int installed = sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
		if (installed && sigs[i].untouched)
			fail("the library installed a handler for %s", sigs[i].name);
		if (installed) {
			strcat(handled, " ");
			strcat(handled, sigs[i].name);
			if (!(sa.sa_flags & SA_ONSTACK))
				fail("the handler of %s is not SA_ONSTACK", sigs[i].name);
		}
	}
	printf("ok %s the Go runtime handles:%s; SIGINT SIGTERM SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGCHLD SIGALRM untouched; threads=%ld\n",
	       step, handled, proc_status("Threads"));
}

/* ------------------------------------------------------------ setup -- */

/* The SMB OAuth token callback: the token is in a file (a firmware would
 * ask its own token broker). */
static int token_calls;

static int token_from_file(void *user, char *buf, size_t cap, size_t *len, int64_t *expires) {
	FILE *f = fopen((const char *)user, "rb");
	if (f == NULL)
		return 1;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0)
		return 1;
	*len = n;
	*expires = (int64_t)time(NULL) + 3600;
	token_calls++;
	return 0;
}

static int token_refused(void *user, char *buf, size_t cap, size_t *len, int64_t *expires) {
	(void)user, (void)buf, (void)cap, (void)len, (void)expires;
	return 1;
}

struct setup {
	const char *mode, *server, *addr, *share, *badspn, *dir, *run;
	char password[256];
};

static smbkrb_config *make_config(const struct setup *t) {
	smbkrb_config *cfg;
	check(smbkrb_config_new(&cfg), "smbkrb_config_new");
	check(smbkrb_config_add_ca_file(cfg, env("SMBKRB_T_CA", 1)), "smbkrb_config_add_ca_file");
	if (strcmp(t->mode, "adds") == 0) {
		const char *realm = env("SMBKRB_T_REALM", 1);
		check(smbkrb_config_add_kdc(cfg, realm, env("SMBKRB_T_KDC", 1)), "smbkrb_config_add_kdc");
		check(smbkrb_config_map_host(cfg, env("SMBKRB_T_MAP", 1), realm), "smbkrb_config_map_host");
	} else if (strcmp(t->mode, "entra") == 0) {
		check(smbkrb_config_set_entra(cfg, env("SMBKRB_T_TENANT", 1), env("SMBKRB_T_AUTHORITY", 1)), "smbkrb_config_set_entra");
	} else {
		check(smbkrb_config_set_oauth_endpoint(cfg, env("SMBKRB_T_OAUTH_ENDPOINT", 1)), "smbkrb_config_set_oauth_endpoint");
	}
	return cfg;
}

static smbkrb_cred *make_cred(const struct setup *t, const char *password) {
	smbkrb_cred *cred;
	if (strcmp(t->mode, "adds") == 0)
		check(smbkrb_cred_password(env("SMBKRB_T_USER", 1), password, strlen(password), &cred), "smbkrb_cred_password");
	else if (strcmp(t->mode, "entra") == 0)
		check(smbkrb_cred_entra(env("SMBKRB_T_STATE", 1), &cred), "smbkrb_cred_entra");
	else
		check(smbkrb_cred_oauth(token_from_file, (void *)env("SMBKRB_T_TOKEN_FILE", 1), &cred), "smbkrb_cred_oauth");
	return cred;
}

/* connect_stat connects with cred, mounts the share and stats the
 * directory the files step left ("ctest"), then closes everything. */
static void connect_stat(const struct setup *t, smbkrb_cred *cred, const char *what) {
	smbkrb_config *cfg = make_config(t);
	smbkrb_session *s;
	smbkrb_share *sh;
	smbkrb_stat st;
	check(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), what);
	char *desc;
	check(smbkrb_session_describe(s, &desc), "smbkrb_session_describe");
	check(smbkrb_mount(s, t->share, NULL, &sh), "smbkrb_mount");
	check(smbkrb_stat_path(sh, "ctest", NULL, &st), "smbkrb_stat_path");
	if (!st.is_dir)
		fail("ctest is not a directory");
	printf("ok %s %s\n", step, desc);
	smbkrb_string_free(desc);
	/* The other order than elsewhere: a share closed after its session
	 * is only released. */
	smbkrb_session_close(s);
	expect(smbkrb_stat_path(sh, "ctest", NULL, &st), SMBKRB_ERR_USAGE, "session is closed", "stat on a share of a closed session");
	smbkrb_share_close(sh);
	smbkrb_config_free(cfg);
}

/* The other kinds of credential: a keytab and an existing cache (adds),
 * the host's managed identity (oauth). */
static void other_creds(const struct setup *t) {
	smbkrb_cred *cred;
	const char *kt = env("SMBKRB_T_KEYTAB", 0), *cc = env("SMBKRB_T_CCACHE", 0);
	if (kt != NULL) {
		step = "keytab";
		check(smbkrb_cred_keytab(env("SMBKRB_T_USER", 1), kt, &cred), "smbkrb_cred_keytab");
		connect_stat(t, cred, "smbkrb_connect with a keytab");
		smbkrb_cred_free(cred);
	}
	if (cc != NULL) {
		step = "ccache";
		check(smbkrb_cred_ccache(cc, &cred), "smbkrb_cred_ccache");
		connect_stat(t, cred, "smbkrb_connect with a cache");
		smbkrb_cred_free(cred);
	}
	if (strcmp(t->mode, "oauth") == 0) {
		step = "token-refused";
		smbkrb_config *cfg = make_config(t);
		smbkrb_session *s = NULL;
		check(smbkrb_cred_oauth(token_refused, NULL, &cred), "smbkrb_cred_oauth");
		expect(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), SMBKRB_ERR_AUTH, "smbkrb_token_fn", "a token callback that has no token");
		smbkrb_cred_free(cred);
		smbkrb_config_free(cfg);
		if (token_calls == 0)
			fail("the token callback was never called");
		printf("ok oauth token_calls=%d\n", token_calls);
		if (env("SMBKRB_T_MI", 0) != NULL) {
			step = "managed-identity";
			check(smbkrb_cred_managed_identity(NULL, &cred), "smbkrb_cred_managed_identity");
			connect_stat(t, cred, "smbkrb_connect as the managed identity");
			smbkrb_cred_free(cred);
		}
	}
}

/* A failing call on another thread, which copies its own last error. */
static void *fail_elsewhere(void *arg) {
	smbkrb_session *s;
	smbkrb_connect(NULL, NULL, "x", NULL, NULL, &s);
	snprintf(arg, 512, "%s", smbkrb_last_error());
	return NULL;
}

static void usage_errors(void) {
	step = "usage";
	smbkrb_session *s = NULL;
	expect(smbkrb_connect(NULL, NULL, "x", NULL, NULL, &s), SMBKRB_ERR_USAGE, "NULL", "connect without a config");
	if (s != NULL)
		fail("connect set *out on failure");
	smbkrb_config *cfg;
	check(smbkrb_config_new(&cfg), "smbkrb_config_new");
	expect(smbkrb_config_add_kdc(cfg, "EXAMPLE.COM", "http://kdc/proxy"), SMBKRB_ERR_USAGE, "https", "an http KDC proxy");
	expect(smbkrb_config_set_ciphers(cfg, "AES-512-XYZ"), SMBKRB_ERR_USAGE, "AES-512-XYZ", "an unknown cipher");
	check(smbkrb_config_set_ciphers(cfg, "AES-256-GCM, AES-128-GCM"), "smbkrb_config_set_ciphers");
	expect(smbkrb_config_add_ca_pem(cfg, "junk", 4), SMBKRB_ERR_USAGE, "PEM", "a CA buffer without PEM");
	/* A handle of the wrong kind is refused, not trusted. */
	smbkrb_share *sh = NULL;
	expect(smbkrb_mount((smbkrb_session *)cfg, "share", NULL, &sh), SMBKRB_ERR_USAGE, "smbkrb_session", "mount on a config handle");
	expect(smbkrb_dir_next((smbkrb_dir *)cfg, NULL, NULL), SMBKRB_ERR_USAGE, "smbkrb_dir", "dir_next on a config handle");
	smbkrb_config_free(cfg);
	smbkrb_config_free(NULL);
	smbkrb_cred_free(NULL);
	smbkrb_session_close(NULL);
	smbkrb_share_close(NULL);
	smbkrb_dir_free(NULL);
	smbkrb_call_free(NULL);
	smbkrb_call_cancel(NULL);
	if (strcmp(smbkrb_last_error(), "") == 0)
		fail("smbkrb_call_cancel(NULL) left no error");
	/* The last error is per thread: another thread's failure leaves this
	 * thread's message alone. */
	expect(smbkrb_config_add_kdc(NULL, "R", "k"), SMBKRB_ERR_USAGE, "smbkrb_config_add_kdc", "add_kdc on NULL");
	pthread_t th;
	char other[512] = "";
	if (pthread_create(&th, NULL, fail_elsewhere, other) != 0)
		fail("pthread_create");
	pthread_join(th, NULL);
	if (strstr(other, "smbkrb_connect") == NULL || strstr(smbkrb_last_error(), "smbkrb_config_add_kdc") == NULL)
		fail("the last error is not per thread: the other thread saw \"%s\", this one \"%s\"", other, smbkrb_last_error());
	check(smbkrb_abi_version() == SMBKRB_ABI_VERSION ? SMBKRB_OK : SMBKRB_ERR_FAILURE, "ABI version");
	if (strcmp(smbkrb_last_error(), "") != 0)
		fail("a call that succeeded left an error: %s", smbkrb_last_error());
	printf("ok %s: version=\"%s\"\n", step, smbkrb_version());
}

/* ---------------------------------------------------------- threads -- */

struct reader {
	smbkrb_share *sh;
	const char *remote;
	struct sink sk;
	int rc;
};

static void *read_concurrently(void *arg) {
	struct reader *r = arg;
	r->rc = smbkrb_read_to(r->sh, r->remote, on_write, &r->sk, NULL, NULL);
	return NULL;
}

/* Four threads read one file at once through one share handle. */
static void threads(smbkrb_share *sh, const char *remote, uint64_t size, uint64_t hash) {
	step = "threads";
	enum { N = 4 };
	struct reader rs[N];
	pthread_t th[N];
	double t0 = now_ms();
	for (int i = 0; i < N; i++) {
		rs[i] = (struct reader){sh, remote, {FNV_INIT, 0}, -1};
		if (pthread_create(&th[i], NULL, read_concurrently, &rs[i]) != 0)
			fail("pthread_create");
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (rs[i].rc != SMBKRB_OK)
			fail("thread %d: %s", i, smbkrb_status_name(rs[i].rc));
		if (rs[i].sk.bytes != size || rs[i].sk.hash != hash)
			fail("thread %d read %llu bytes (fnv %016llx)", i, (unsigned long long)rs[i].sk.bytes, (unsigned long long)rs[i].sk.hash);
	}
	printf("ok %s readers=%d byte-exact ms=%.0f\n", step, N, now_ms() - t0);
}

/* A configuration that demands encryption with AES-256-GCM only. */
static void encrypted(const struct setup *t) {
	step = "encrypt";
	smbkrb_config *cfg = make_config(t);
	check(smbkrb_config_set_encrypt(cfg, 1), "smbkrb_config_set_encrypt");
	check(smbkrb_config_set_ciphers(cfg, "AES-256-GCM"), "smbkrb_config_set_ciphers");
	smbkrb_cred *cred = make_cred(t, t->password);
	smbkrb_session *s;
	check(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), "smbkrb_connect");
	char *desc;
	check(smbkrb_session_describe(s, &desc), "smbkrb_session_describe");
	if (strstr(desc, "cipher AES-256-GCM, session encrypted true") == NULL)
		fail("not an AES-256-GCM encrypted session: %s", desc);
	smbkrb_share *sh;
	check(smbkrb_mount(s, t->share, NULL, &sh), "smbkrb_mount");
	smbkrb_stat st;
	check(smbkrb_stat_path(sh, "ctest", NULL, &st), "smbkrb_stat_path");
	printf("ok %s %s\n", step, desc);
	smbkrb_string_free(desc);
	smbkrb_share_close(sh);
	smbkrb_session_close(s);
	smbkrb_cred_free(cred);
	smbkrb_config_free(cfg);
}

/* ------------------------------------------------------------ files -- */

static void files(const struct setup *t, smbkrb_share *sh, uint64_t size) {
	char remote_dir[512], remote[600], renamed[600], streamed[600], local[600], back[600];
	snprintf(remote_dir, sizeof remote_dir, "ctest/%s/a/b", t->run);
	snprintf(remote, sizeof remote, "%s/file.bin", remote_dir);
	snprintf(renamed, sizeof renamed, "%s/renamed.bin", remote_dir);
	snprintf(streamed, sizeof streamed, "%s/streamed.bin", remote_dir);
	snprintf(local, sizeof local, "%s/upload.bin", t->dir);
	snprintf(back, sizeof back, "%s/back.bin", t->dir);

	step = "mkdir";
	check(smbkrb_mkdir_all(sh, remote_dir, NULL), "smbkrb_mkdir_all");
	check(smbkrb_mkdir_all(sh, remote_dir, NULL), "smbkrb_mkdir_all again");
	printf("ok %s %s\n", step, remote_dir);

	step = "put";
	FILE *f = fopen(local, "wb");
	if (f == NULL)
		fail("create %s: %s", local, strerror(errno));
	uint64_t state = 0x9e3779b97f4a7c15ULL, left = size;
	unsigned char buf[65536];
	while (left > 0) {
		size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
		fill(buf, k, &state);
		fwrite(buf, 1, k, f);
		left -= k;
	}
	fclose(f);
	uint64_t lsize, lhash = file_hash(local, &lsize);
	smbkrb_call *call;
	check(smbkrb_call_new(&call), "smbkrb_call_new");
	struct progress pr = {0, 0, 0};
	check(smbkrb_call_set_progress(call, on_progress, &pr), "smbkrb_call_set_progress");
	uint64_t n = 0;
	double t0 = now_ms();
	check(smbkrb_put(sh, local, remote, call, &n), "smbkrb_put");
	double took = now_ms() - t0;
	if (n != size)
		fail("put %llu bytes, want %llu", (unsigned long long)n, (unsigned long long)size);
	if (pr.calls == 0 || pr.last != size || pr.total != (int64_t)size)
		fail("progress: %llu calls, last %llu of %lld; want the last at %llu of %llu", (unsigned long long)pr.calls,
		     (unsigned long long)pr.last, (long long)pr.total, (unsigned long long)size, (unsigned long long)size);
	printf("ok %s bytes=%llu ms=%.0f progress_calls=%llu\n", step, (unsigned long long)n, took, (unsigned long long)pr.calls);

	step = "stat";
	smbkrb_stat st;
	check(smbkrb_stat_path(sh, remote, NULL, &st), "smbkrb_stat_path");
	if (st.size != size || st.is_dir)
		fail("stat: size %llu dir %d, want %llu, a file", (unsigned long long)st.size, st.is_dir, (unsigned long long)size);
	if (st.mtime_ns <= 0 || st.mtime_ns / 1000000000 < (int64_t)time(NULL) - 3600)
		fail("stat: mtime %lld is not recent", (long long)st.mtime_ns);
	check(smbkrb_stat_path(sh, remote_dir, NULL, &st), "smbkrb_stat_path of the directory");
	if (!st.is_dir || !(st.attributes & 0x10))
		fail("stat of a directory: is_dir %d attributes %#x", st.is_dir, st.attributes);
	printf("ok %s\n", step);

	step = "get";
	pr.calls = 0;
	t0 = now_ms();
	check(smbkrb_get(sh, remote, back, call, &n), "smbkrb_get");
	took = now_ms() - t0;
	uint64_t bsize, bhash = file_hash(back, &bsize);
	if (n != size || bsize != lsize || bhash != lhash)
		fail("got %llu bytes (file %llu, fnv %016llx); put %llu (fnv %016llx)", (unsigned long long)n,
		     (unsigned long long)bsize, (unsigned long long)bhash, (unsigned long long)lsize, (unsigned long long)lhash);
	printf("ok %s bytes=%llu ms=%.0f byte-exact fnv=%016llx\n", step, (unsigned long long)n, took, (unsigned long long)bhash);

	step = "get-missing";
	char missing_local[600];
	snprintf(missing_local, sizeof missing_local, "%s/missing.bin", t->dir);
	expect(smbkrb_get(sh, "ctest/no-such-file", missing_local, NULL, NULL), SMBKRB_ERR_NOT_FOUND, "no-such-file", "get of a missing file");
	FILE *m = fopen(missing_local, "rb");
	if (m != NULL)
		fail("a failed get left %s behind", missing_local);

	step = "stream";
	struct sink sk = {FNV_INIT, 0};
	check(smbkrb_read_to(sh, remote, on_write, &sk, NULL, &n), "smbkrb_read_to");
	if (sk.bytes != size || sk.hash != lhash)
		fail("read_to gave %llu bytes (fnv %016llx), want %llu (fnv %016llx)", (unsigned long long)sk.bytes,
		     (unsigned long long)sk.hash, (unsigned long long)size, (unsigned long long)lhash);
	struct source src = {12345, size / 2 + 7, FNV_INIT, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	check(smbkrb_write_from(sh, streamed, on_read, &src, NULL, &n), "smbkrb_write_from");
	struct sink sk2 = {FNV_INIT, 0};
	check(smbkrb_read_to(sh, streamed, on_write, &sk2, NULL, NULL), "smbkrb_read_to of the streamed file");
	if (n != size / 2 + 7 || sk2.bytes != n || sk2.hash != src.hash)
		fail("the streamed file: wrote %llu, read back %llu bytes (fnv %016llx, want %016llx)", (unsigned long long)n,
		     (unsigned long long)sk2.bytes, (unsigned long long)sk2.hash, (unsigned long long)src.hash);
	printf("ok %s read_to and write_from byte-exact\n", step);

	step = "list";
	smbkrb_dir *d;
	check(smbkrb_dir_open(sh, remote_dir, NULL, &d), "smbkrb_dir_open");
	const char *name;
	int seen = 0, entries = 0;
	for (;;) {
		check(smbkrb_dir_next(d, &name, &st), "smbkrb_dir_next");
		if (name == NULL)
			break;
		entries++;
		if (strcmp(name, "file.bin") == 0 && st.size == size)
			seen |= 1;
		if (strcmp(name, "streamed.bin") == 0 && st.size == size / 2 + 7)
			seen |= 2;
	}
	smbkrb_dir_free(d);
	if (seen != 3 || entries != 2)
		fail("the listing has %d entries, file.bin and streamed.bin with their sizes: %s", entries, seen == 3 ? "yes" : "no");
	printf("ok %s entries=%d\n", step, entries);

	threads(sh, remote, size, lhash);

	step = "rename";
	check(smbkrb_rename(sh, remote, renamed, NULL), "smbkrb_rename");
	expect(smbkrb_stat_path(sh, remote, NULL, &st), SMBKRB_ERR_NOT_FOUND, NULL, "stat of the old name");
	check(smbkrb_stat_path(sh, renamed, NULL, &st), "smbkrb_stat_path of the new name");
	if (st.size != size)
		fail("the renamed file has %llu bytes", (unsigned long long)st.size);

	step = "cancel";
	struct source endless = {7, 0, FNV_INIT, 1, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	smbkrb_call *cc;
	check(smbkrb_call_new(&cc), "smbkrb_call_new");
	struct canceller cl = {&endless, cc};
	pthread_t th;
	if (pthread_create(&th, NULL, cancel_later, &cl) != 0)
		fail("pthread_create");
	char cancelled[600];
	snprintf(cancelled, sizeof cancelled, "%s/cancelled.bin", remote_dir);
	t0 = now_ms();
	expect(smbkrb_write_from(sh, cancelled, on_read, &endless, cc, NULL), SMBKRB_ERR_CANCELED, "smbkrb_call_cancel", "an endless upload cancelled from another thread");
	took = now_ms() - t0;
	pthread_join(th, NULL);
	expect(smbkrb_stat_path(sh, cancelled, cc, &st), SMBKRB_ERR_CANCELED, NULL, "a call on a cancelled smbkrb_call");
	check(smbkrb_call_reset(cc), "smbkrb_call_reset");
	expect(smbkrb_stat_path(sh, cancelled, cc, &st), SMBKRB_ERR_NOT_FOUND, NULL, "the cancelled upload left no file");
	printf("ok %s ms=%.0f\n", step, took);

	step = "timeout";
	struct source endless2 = {8, 0, FNV_INIT, 1, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	check(smbkrb_call_set_timeout_ms(cc, 300), "smbkrb_call_set_timeout_ms");
	expect(smbkrb_write_from(sh, cancelled, on_read, &endless2, cc, NULL), SMBKRB_ERR_NETWORK, "allow more time", "an endless upload past its timeout");
	smbkrb_call_free(cc);
	/* Nothing of the two stopped uploads stays behind (atomic put): their
	 * temporary files are removed in the background, within 10 s of the
	 * call's return (smbkrb_session_close waits for that). */
	double waited = now_ms();
	for (int stray = 1; stray;) {
		stray = 0;
		check(smbkrb_dir_open(sh, remote_dir, NULL, &d), "smbkrb_dir_open");
		for (;;) {
			check(smbkrb_dir_next(d, &name, NULL), "smbkrb_dir_next");
			if (name == NULL)
				break;
			if (strcmp(name, "renamed.bin") != 0 && strcmp(name, "streamed.bin") != 0) {
				stray = 1;
				if (now_ms() - waited > 15000)
					fail("a stopped upload left %s behind for 15 s", name);
			}
		}
		smbkrb_dir_free(d);
		if (stray) {
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	printf("ok %s temporary files gone after ms=%.0f\n", step, now_ms() - waited);

	step = "remove";
	check(smbkrb_remove(sh, renamed, NULL), "smbkrb_remove");
	check(smbkrb_remove(sh, streamed, NULL), "smbkrb_remove");
	expect(smbkrb_remove(sh, renamed, NULL), SMBKRB_ERR_NOT_FOUND, NULL, "remove of a removed file");
	char a[512];
	snprintf(a, sizeof a, "ctest/%s/a", t->run);
	check(smbkrb_remove(sh, remote_dir, NULL), "smbkrb_remove of a directory");
	check(smbkrb_remove(sh, a, NULL), "smbkrb_remove of a directory");
	expect(smbkrb_stat_path(sh, a, NULL, &st), SMBKRB_ERR_NOT_FOUND, NULL, "stat of a removed directory");
	smbkrb_call_free(call);
	remove(local);
	remove(back);
}

/* ----------------------------------------------------------- errors -- */

static void login_errors(const struct setup *t) {
	smbkrb_session *s = NULL;
	if (strcmp(t->mode, "adds") == 0) {
		step = "wrong-password";
		smbkrb_config *cfg = make_config(t);
		smbkrb_cred *bad = make_cred(t, "not-the-password");
		expect(smbkrb_connect(cfg, bad, t->server, t->addr, NULL, &s), SMBKRB_ERR_AUTH, "password", "a wrong password");
		smbkrb_cred_free(bad);
		smbkrb_config_free(cfg);
	}
	step = "unknown-spn";
	smbkrb_config *cfg = make_config(t);
	smbkrb_cred *cred = make_cred(t, t->password);
	/* AD DS: no account has the SPN; Entra: no application for it; SMB
	 * OAuth: the file endpoint knows no such storage account. */
	const char *text = "registered";
	int want = SMBKRB_ERR_AUTH;
	if (strcmp(t->mode, "entra") == 0)
		text = "AADSTS700016";
	if (strcmp(t->mode, "oauth") == 0)
		text = "ResourceNotFound", want = SMBKRB_ERR_NOT_FOUND;
	expect(smbkrb_connect(cfg, cred, t->badspn, t->addr, NULL, &s), want, text, "a server without a service principal");
	if (s != NULL)
		fail("a failed connect set *out");
	smbkrb_cred_free(cred);
	smbkrb_config_free(cfg);
}

/* ------------------------------------------------------------- leak -- */

static void leak_loop(const struct setup *t, int cycles) {
	step = "leak";
	char remote[512], local[600];
	snprintf(remote, sizeof remote, "ctest/%s-leak.bin", t->run);
	snprintf(local, sizeof local, "%s/leak.bin", t->dir);
	smbkrb_config *cfg = make_config(t);
	smbkrb_cred *cred = make_cred(t, t->password);
	smbkrb_session *s;
	smbkrb_share *sh;
	check(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), "smbkrb_connect");
	check(smbkrb_mount(s, t->share, NULL, &sh), "smbkrb_mount");
	unsigned char data[16384];
	uint64_t state = 99;
	fill(data, sizeof data, &state);
	FILE *f = fopen(local, "wb");
	fwrite(data, 1, sizeof data, f);
	fclose(f);
	check(smbkrb_put(sh, local, remote, NULL, NULL), "smbkrb_put");
	smbkrb_share_close(sh);
	smbkrb_session_close(s);

	int warm = cycles / 10;
	long rss_warm = 0, rss_peak = 0;
	int fds_warm = 0;
	double t0 = now_ms(), t_warm = 0;
	for (int i = 1; i <= cycles; i++) {
		check(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), "smbkrb_connect");
		check(smbkrb_mount(s, t->share, NULL, &sh), "smbkrb_mount");
		uint64_t n;
		check(smbkrb_get(sh, remote, local, NULL, &n), "smbkrb_get");
		if (n != sizeof data)
			fail("cycle %d: got %llu bytes", i, (unsigned long long)n);
		smbkrb_share_close(sh);
		smbkrb_session_close(s);
		long rss = rss_kib();
		if (rss > rss_peak)
			rss_peak = rss;
		if (i == warm) {
			rss_warm = rss;
			fds_warm = open_fds();
			t_warm = now_ms();
		}
	}
	double per = (now_ms() - t_warm) / (cycles - warm);
	long rss_end = rss_kib();
	int fds_end = open_fds();
	check(smbkrb_connect(cfg, cred, t->server, t->addr, NULL, &s), "smbkrb_connect");
	check(smbkrb_mount(s, t->share, NULL, &sh), "smbkrb_mount");
	check(smbkrb_remove(sh, remote, NULL), "smbkrb_remove");
	smbkrb_share_close(sh);
	smbkrb_session_close(s);
	smbkrb_cred_free(cred);
	smbkrb_config_free(cfg);
	remove(local);
	printf("ok %s cycles=%d warmup=%d rss_warm_kib=%ld rss_end_kib=%ld rss_peak_kib=%ld fds_warm=%d fds_end=%d ms_per_cycle=%.1f total_ms=%.0f threads=%ld\n",
	       step, cycles, warm, rss_warm, rss_end, rss_peak, fds_warm, fds_end, per, now_ms() - t0, proc_status("Threads"));
	/* After the warm-up, the process must not grow: allow 4 MiB of noise
	 * (the Go heap's next GC target, allocator slack), not a steady climb
	 * (a leak of a session's buffers is ~1 MiB per cycle). */
	if (rss_end - rss_warm > 4096)
		fail("RSS grew by %ld KiB from cycle %d to %d", rss_end - rss_warm, warm, cycles);
	if (fds_end > fds_warm)
		fail("open file descriptors grew from %d to %d", fds_warm, fds_end);
}

/* ------------------------------------------------------------- main -- */

int main(void) {
	struct setup t;
	memset(&t, 0, sizeof t);
	t.mode = env("SMBKRB_T_MODE", 1);
	if (strcmp(t.mode, "adds") != 0 && strcmp(t.mode, "entra") != 0 && strcmp(t.mode, "oauth") != 0)
		fail("SMBKRB_T_MODE is %s: adds, entra or oauth", t.mode);
	t.server = env("SMBKRB_T_SERVER", 1);
	t.addr = env("SMBKRB_T_ADDR", 1);
	t.share = env("SMBKRB_T_SHARE", 1);
	t.badspn = env("SMBKRB_T_BADSPN", 1);
	t.dir = env("SMBKRB_T_DIR", 1);
	t.run = env("SMBKRB_T_RUN", 1);
	const char *sz = env("SMBKRB_T_SIZE", 0);
	uint64_t size = sz != NULL ? strtoull(sz, NULL, 10) : (4u << 20) + 4321;
	const char *cy = env("SMBKRB_T_CYCLES", 0);
	int cycles = cy != NULL ? atoi(cy) : 0;
	if (strcmp(t.mode, "adds") == 0) {
		if (fgets(t.password, sizeof t.password, stdin) == NULL)
			fail("no password on standard input");
		t.password[strcspn(t.password, "\r\n")] = '\0';
	}

	usage_errors();
	signals();

	step = "connect";
	smbkrb_config *cfg = make_config(&t);
	smbkrb_cred *cred = make_cred(&t, t.password);
	smbkrb_session *s;
	double t0 = now_ms();
	check(smbkrb_connect(cfg, cred, t.server, t.addr, NULL, &s), "smbkrb_connect");
	double took = now_ms() - t0;
	char *desc;
	check(smbkrb_session_describe(s, &desc), "smbkrb_session_describe");
	printf("ok %s ms=%.0f %s\n", step, took, desc);
	smbkrb_string_free(desc);
	expect(smbkrb_config_set_encrypt(cfg, 1), SMBKRB_ERR_USAGE, "in use", "a configuration in use");
	/* The configuration and the credential may go while the session
	 * lives. */
	smbkrb_config_free(cfg);
	smbkrb_cred_free(cred);

	step = "mount";
	smbkrb_share *sh;
	expect(smbkrb_mount(s, "no-such-share", NULL, &sh), SMBKRB_ERR_NOT_FOUND, "smbkrb_mount", "an unknown share");
	check(smbkrb_mount(s, t.share, NULL, &sh), "smbkrb_mount");
	printf("ok %s %s\n", step, t.share);

	files(&t, sh, size);
	smbkrb_share_close(sh);
	smbkrb_session_close(s);

	encrypted(&t);
	other_creds(&t);
	login_errors(&t);
	if (cycles > 0)
		leak_loop(&t, cycles);
	memset(t.password, 0, sizeof t.password);
	printf("PASS\n");
	return 0;
}
