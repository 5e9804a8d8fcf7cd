/*
 * genrun — the scratch directory and runner the generator's suites share
 * (see genrun.h).
 */
/* nftw() with FTW_DEPTH is X/Open. */
#define _XOPEN_SOURCE 700
#include "tests/genrun.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char genrun_dir[64];

void genrun_setup(void)
{
	snprintf(genrun_dir, sizeof(genrun_dir), "/tmp/iotgen-test-XXXXXX");
	cr_assert_not_null(mkdtemp(genrun_dir), "mkdtemp failed");
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

void genrun_teardown(void)
{
	/* Deepest first, so directories a test made (a spool, a store's) go too. */
	nftw(genrun_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *genrun_path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", genrun_dir, name);
	return buf[i];
}

/* Runs iotgen with the NULL-terminated arguments; returns its exit status.
 * Its stdout and stderr go to a file in the scratch directory. */
int genrun_run(const char *arg, ...)
{
	const char *bin = getenv("IOTGEN_BIN");
	char *argv[32];
	posix_spawn_file_actions_t fa;
	va_list ap;
	int argc = 0, status = -1;
	pid_t pid;

	cr_assert_not_null(bin, "IOTGEN_BIN is not set (make test sets it)");
	argv[argc++] = (char *)bin;
	va_start(ap, arg);
	for (const char *a = arg; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, genrun_path("out.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, genrun_path("err.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0, "cannot run %s", bin);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "iotgen died (signal %d)", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/* The server_name of a ClientHello at the start of a TCP payload, or NULL. */
const char *genrun_sni(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t o, end;

	if (n < 48 || p[0] != 22 || p[5] != 1)
		return NULL;
	o = 5 + 4 + 2 + 32;
	o += 1 + p[o];                            /* session id */
	if (o + 2 > n)
		return NULL;
	o += 2 + ((size_t)p[o] << 8 | p[o + 1]);  /* cipher suites */
	if (o + 1 > n)
		return NULL;
	o += 1 + p[o];                            /* compression */
	if (o + 2 > n)
		return NULL;
	end = o + 2 + ((size_t)p[o] << 8 | p[o + 1]);
	o += 2;
	while (o + 4 <= end && end <= n) {
		size_t type = (size_t)p[o] << 8 | p[o + 1], len = (size_t)p[o + 2] << 8 | p[o + 3];

		if (type == 0 && len >= 5 && o + 4 + len <= end) {
			size_t nl = (size_t)p[o + 7] << 8 | p[o + 8];

			if (nl >= cap || o + 9 + nl > end)
				return NULL;
			memcpy(out, p + o + 9, nl);
			out[nl] = '\0';
			return out;
		}
		o += 4 + len;
	}
	return NULL;
}

char *genrun_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

size_t genrun_offset_at(const char *buf, size_t len, long long ts_s)
{
	size_t off = 24;
	while (off + 16 <= len) {
		uint32_t sec, caplen;
		memcpy(&sec, buf + off, 4);
		memcpy(&caplen, buf + off + 8, 4);
		if (sec >= ts_s)
			return off;
		off += 16 + caplen;
	}
	return len;
}

bool genrun_wait_for_text(const char *path, const char *text)
{
	for (int i = 0; i < 3000; i++) {
		char *t = genrun_slurp(path, NULL);
		bool found = t && strstr(t, text);
		free(t);
		if (found)
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
	}
	return false;
}

bool genrun_same_file(const char *a, const char *b)
{
	static unsigned char x[1 << 16], y[1 << 16];
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	while (same) {
		size_t na = fread(x, 1, sizeof(x), fa), nb = fread(y, 1, sizeof(y), fb);
		same = na == nb && memcmp(x, y, na) == 0;
		if (na < sizeof(x))
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}
