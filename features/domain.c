/*
 * domain — registrable domains through libpsl (see domain.h).
 *
 * libpsl does the Public Suffix List matching; this module decides what
 * reaches it. Names come from DNS queries, TLS SNI and HTTP Host headers,
 * that is from the devices being watched, so each is checked as a host
 * name and lower-cased into a bounded local copy first: libpsl expects
 * lower-case UTF-8, and would happily answer "1.1" for "192.168.1.1" or
 * "printer.local" for an mDNS name.
 *
 * Rejected: libpsl's built-in list (psl_builtin), which is frozen at
 * libpsl's build and would not follow Debian's publicsuffix updates; and
 * parsing the list ourselves, which libpsl already does correctly
 * (wildcards, exceptions, IDNA).
 */
#include "features/domain.h"

#include <errno.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DOMAIN_MAX_LABEL 63 /* RFC 1035 section 2.3.4 */
#define DOMAIN_MAX_PATH 4096

struct domain_db {
	psl_ctx_t *psl;
	char *source;
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Loads path with libpsl. NULL with err set on failure. */
static psl_ctx_t *load(const char *path, char *err, size_t errlen)
{
	psl_ctx_t *psl = NULL;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	psl = psl_load_fp(fp);
	fclose(fp);
	if (!psl) {
		set_err(err, errlen, "%s: libpsl cannot read it as a public suffix list", path);
		return NULL;
	}
	/* libpsl takes any text file as a list (its lines become rules), and
	 * its default "*" rule would then make every name look fine. Every
	 * real list has an explicit rule for "com". */
	if (!psl_is_public_suffix2(psl, "com", PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE)) {
		set_err(err, errlen, "%s: not a public suffix list (no rule for \"com\")", path);
		psl_free(psl);
		return NULL;
	}
	return psl;
}

/* The ".dafsa" beside a ".dat" path into out, if it exists and is no older
 * than the text list (else an edited list would be ignored). */
static bool dafsa_beside(const char *path, const struct stat *dat, char *out, size_t outlen)
{
	static const char dat_ext[] = ".dat";
	size_t n = strlen(path), ext = sizeof(dat_ext) - 1;
	struct stat st;

	if (n < ext || strcmp(path + n - ext, dat_ext) != 0)
		return false;
	int w = snprintf(out, outlen, "%.*s.dafsa", (int)(n - ext), path);
	if (w < 0 || (size_t)w >= outlen)
		return false;
	return stat(out, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime >= dat->st_mtime;
}

struct domain_db *domain_open(const char *psl_path, char *err, size_t errlen)
{
	struct domain_db *db = NULL;
	char dafsa[DOMAIN_MAX_PATH];
	const char *source = psl_path;
	struct stat st;
	bool ok = false;

	set_err(err, errlen, "%s", "");
	if (!psl_path) {
		set_err(err, errlen, "domain: no public suffix list given");
		goto out;
	}
	if (stat(psl_path, &st) != 0) {
		set_err(err, errlen, "%s: cannot open: %s%s", psl_path, strerror(errno),
		        errno == ENOENT ? " (Debian's publicsuffix package installs it)" : "");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", psl_path);
		goto out;
	}
	if (!(db = calloc(1, sizeof(*db)))) {
		set_err(err, errlen, "%s: out of memory", psl_path);
		goto out;
	}
	/* The DAFSA is an optimisation: if it fails, its error is dropped and
	 * the list that was asked for is read instead. */
	if (dafsa_beside(psl_path, &st, dafsa, sizeof(dafsa)) && (db->psl = load(dafsa, NULL, 0)))
		source = dafsa;
	if (!db->psl && !(db->psl = load(psl_path, err, errlen)))
		goto out;
	if (!(db->source = strdup(source))) {
		set_err(err, errlen, "%s: out of memory", psl_path);
		goto out;
	}
	ok = true;
out:
	if (!ok) {
		domain_close(db);
		db = NULL;
	}
	return db;
}

void domain_close(struct domain_db *db)
{
	if (!db)
		return;
	psl_free(db->psl);
	free(db->source);
	free(db);
}

const char *domain_source(const struct domain_db *db)
{
	return db ? db->source : NULL;
}

static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

const char *domain_registrable(const struct domain_db *db, const char *name, char *buf, size_t len)
{
	/* The name lower-cased, NUL-terminated, for libpsl. strnlen below looks
	 * at most two bytes past the longest name (a trailing dot, then one
	 * that makes it too long), so a hostile name is never read further. */
	char low[DOMAIN_MAX_NAME + 1];
	size_t n, label = 0, last = 0; /* last: where the current label starts */
	bool numeric = true;           /* the current label is all digits */

	if (!db || !name || !buf || len == 0)
		return NULL;
	n = strnlen(name, DOMAIN_MAX_NAME + 2);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX_NAME)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return NULL;
			low[i] = '.';
			label = 0;
			last = i + 1;
			numeric = true;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!host_char(c) || ++label > DOMAIN_MAX_LABEL)
			return NULL;
		if (c < '0' || c > '9')
			numeric = false;
		low[i] = (char)c;
	}
	low[n] = '\0';
	if (label == 0 || last == 0 || numeric) /* empty last label, one label, IPv4 */
		return NULL;
	if (strcmp(low + last, "local") == 0) /* mDNS, RFC 6762 */
		return NULL;
	const char *reg = psl_registrable_domain(db->psl, low);
	if (!reg)
		return NULL;
	size_t rn = strlen(reg);
	if (rn >= len)
		return NULL;
	memcpy(buf, reg, rn + 1);
	return buf;
}
