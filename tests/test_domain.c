/*
 * Tests for features/domain.c: registrable domains from Debian's
 * publicsuffix package (a build dependency: `make deps`), what is refused
 * before libpsl is asked, and which file of the package is loaded.
 */
#include "features/domain.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEBIAN_DAFSA "/usr/share/publicsuffix/public_suffix_list.dafsa"

static char err[PATH_MAX + 256];
static struct domain_db *db;

static void open_default(void)
{
	db = domain_open(DOMAIN_DEFAULT_PSL, err, sizeof(err));
	cr_assert_not_null(db, "%s (run `make deps` for the publicsuffix package)", err);
}

static void close_default(void)
{
	domain_close(db);
	db = NULL;
}

TestSuite(domain, .init = open_default, .fini = close_default);

static const char *reg(const char *name)
{
	static char buf[DOMAIN_MAX_NAME + 1];
	memset(buf, 'X', sizeof(buf));
	const char *r = domain_registrable(db, name, buf, sizeof(buf));
	cr_assert(r == NULL || r == buf, "returned neither NULL nor buf");
	return r;
}

static void expect_reg(const char *name, const char *want)
{
	const char *got = reg(name);
	cr_assert_not_null(got, "\"%s\": NULL, expected \"%s\"", name, want);
	cr_expect_str_eq(got, want, "\"%s\"", name);
}

static void expect_none(const char *name)
{
	const char *got = reg(name);
	cr_expect_null(got, "\"%s\" gave \"%s\", expected NULL", name, got ? got : "");
}

Test(domain, a_host_gives_its_registrable_domain)
{
	expect_reg("api.tuya.com", "tuya.com");
	expect_reg("tuya.com", "tuya.com");
	expect_reg("a.b.example.co.uk", "example.co.uk");
	expect_reg("example.co.uk", "example.co.uk");
	expect_reg("a1.tuyaeu.com", "tuyaeu.com");
	expect_reg("_dmarc.tuya.com", "tuya.com");
	expect_reg("xn--bcher-kva.de", "xn--bcher-kva.de");
}

Test(domain, private_section_rules_are_honoured)
{
	/* The choice documented in domain.h: a bucket, a distribution, an app
	 * each is its own registrable domain. */
	expect_reg("foo.s3.amazonaws.com", "foo.s3.amazonaws.com");
	expect_reg("a.b.bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com");
	expect_reg("d111111abcdef8.cloudfront.net", "d111111abcdef8.cloudfront.net");
	expect_reg("my-app.herokuapp.com", "my-app.herokuapp.com");
	expect_reg("amazonaws.com", "amazonaws.com");
}

Test(domain, wildcard_and_exception_rules_apply)
{
	/* "*.ck" with the exception "!www.ck". */
	expect_reg("a.b.ck", "a.b.ck");
	expect_reg("www.ck", "www.ck");
	expect_none("b.ck");
}

Test(domain, an_unlisted_top_level_label_follows_the_default_rule)
{
	expect_reg("nas.lan", "nas.lan");
	expect_reg("a.nas.lan", "nas.lan");
}

Test(domain, upper_case_is_lowered)
{
	expect_reg("API.Tuya.COM", "tuya.com");
	expect_reg("Foo.S3.AmazonAWS.com", "foo.s3.amazonaws.com");
}

Test(domain, one_trailing_dot_is_ignored)
{
	expect_reg("api.tuya.com.", "tuya.com");
	expect_none("api.tuya.com..");
	expect_none("com.");
	expect_none(".");
}

Test(domain, ip_literals_have_none)
{
	expect_none("192.168.1.1");
	expect_none("8.8.8.8");
	expect_none("10.0.0.1.");
	expect_none("1.2");
	expect_none("::1");
	expect_none("fe80::1");
	expect_none("2001:db8::1");
	expect_none("[2001:db8::1]");
	expect_none("::ffff:192.0.2.1");
}

Test(domain, a_public_suffix_has_none)
{
	expect_none("com");
	expect_none("co.uk");
	expect_none("uk");
	expect_none("s3.amazonaws.com");
	expect_none("cloudfront.net");
}

Test(domain, empty_single_label_and_mdns_names_have_none)
{
	expect_none("");
	expect_none("router");
	expect_none("localhost");
	expect_none("printer.local");
	expect_none("Printer.LOCAL.");
	expect_none("_ipp._tcp.local");
	cr_expect_null(domain_registrable(db, NULL, (char[16]){0}, 16));
}

Test(domain, hostile_names_have_none)
{
	static const char *const names[] = {
		"api tuya.com", "api.tuya.com\n", "api\t.tuya.com", "\x01.tuya.com", "tuya.com\x7f",
		"api.tuya.com\\x00", "\\x41.tuya.com", "api.tuya.com/evil", "user@tuya.com", "tuya.com:443",
		"a..tuya.com", ".tuya.com", "..", "b\303\274cher.de", "api.tuya.com\xff", "*.tuya.com",
		"%61.tuya.com", "\"tuya.com\"", "tuya.com;rm -rf /",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_none(names[i]);
}

/* A name of exactly total characters: short labels ("a.a.a...", with an
 * "aa." first when the count is odd) before "example.com". */
static void long_name(char *out, size_t total)
{
	static const char tail[] = "example.com";
	size_t n = 0, prefix = total - (sizeof(tail) - 1);
	cr_assert_geq(total, sizeof(tail) + 2);
	if (prefix % 2) {
		memcpy(out, "aa.", 3);
		n = 3;
	}
	for (; n < prefix; n += 2)
		memcpy(out + n, "a.", 2);
	memcpy(out + n, tail, sizeof(tail));
	cr_assert_eq(strlen(out), total);
}

Test(domain, names_are_bounded_by_rfc_1035)
{
	char name[400];
	long_name(name, 253);
	expect_reg(name, "example.com");
	long_name(name, 252);
	expect_reg(name, "example.com");
	long_name(name, 253);
	name[253] = '.';
	name[254] = '\0';
	expect_reg(name, "example.com");
	long_name(name, 254);
	expect_none(name);
	long_name(name, 300);
	expect_none(name);
	long_name(name, 399);
	expect_none(name);
}

Test(domain, labels_are_bounded_at_63)
{
	char name[128];
	memset(name, 'a', 63);
	memcpy(name + 63, ".example.com", 13);
	expect_reg(name, "example.com");
	memset(name, 'a', 64);
	memcpy(name + 64, ".example.com", 13);
	expect_none(name);
	/* The registrable label itself. */
	name[0] = 'x';
	name[1] = '.';
	memset(name + 2, 'b', 64);
	memcpy(name + 66, ".com", 5);
	expect_none(name);
}

Test(domain, an_answer_that_does_not_fit_is_refused)
{
	char small[9];
	cr_expect_null(domain_registrable(db, "api.tuya.com", small, 8));
	cr_expect_null(domain_registrable(db, "api.tuya.com", small, 0));
	cr_expect_eq(domain_registrable(db, "api.tuya.com", small, 9), small);
	cr_expect_str_eq(small, "tuya.com");
}

Test(domain, null_handles_are_harmless, .init = NULL, .fini = NULL)
{
	char buf[64];
	cr_expect_null(domain_registrable(NULL, "api.tuya.com", buf, sizeof(buf)));
	cr_expect_null(domain_source(NULL));
	domain_close(NULL);
	cr_expect_null(domain_open(NULL, err, sizeof(err)));
	cr_expect_neq(err[0], '\0');
}

/* ---- which file is loaded ---- */

Test(domain, a_missing_list_is_an_error_naming_it, .init = NULL, .fini = NULL)
{
	cr_expect_null(domain_open("/nonexistent/public_suffix_list.dat", err, sizeof(err)));
	cr_expect(strstr(err, "/nonexistent/public_suffix_list.dat: cannot open: No such file or directory") == err,
	          "%s", err);
}

Test(domain, a_file_that_is_not_a_list_is_an_error_naming_it, .init = NULL, .fini = NULL)
{
	/* libpsl would take its lines for rules. */
	cr_expect_null(domain_open("tests/data/oui/quoted/mam.csv", err, sizeof(err)));
	cr_expect_str_eq(err, "tests/data/oui/quoted/mam.csv: not a public suffix list (no rule for \"com\")");
	cr_expect_null(domain_open("tests", err, sizeof(err)));
	cr_expect_str_eq(err, "tests: not a regular file");
}

Test(domain, debian_s_compiled_list_is_preferred_to_the_text)
{
	cr_expect_str_eq(domain_source(db), DEBIAN_DAFSA);
}

static char dir[PATH_MAX];
static char dat[PATH_MAX + 32], dafsa[PATH_MAX + 32];

static void tmp_copies(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/iotids-domain-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(dat, sizeof(dat), "%s/public_suffix_list.dat", dir);
	snprintf(dafsa, sizeof(dafsa), "%s/public_suffix_list.dafsa", dir);
}

static void rm_copies(void)
{
	unlink(dat);
	unlink(dafsa);
	rmdir(dir);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char chunk[65536];
	size_t n;
	cr_assert_not_null(in, "%s: %s", from, strerror(errno));
	cr_assert_not_null(out, "%s: %s", to, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		cr_assert_eq(fwrite(chunk, 1, n, out), n);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
}

/* Sets path's modification time to t seconds after the epoch. */
static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s: %s", path, strerror(errno));
}

static void expect_examples(const struct domain_db *d)
{
	static const char *const names[][2] = {
		{"api.tuya.com", "tuya.com"},
		{"a.b.example.co.uk", "example.co.uk"},
		{"a.b.bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com"},
		{"www.ck", "www.ck"},
		{"b.ck", NULL},
		{"co.uk", NULL},
	};
	char buf[DOMAIN_MAX_NAME + 1];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *got = domain_registrable(d, names[i][0], buf, sizeof(buf));
		if (names[i][1])
			cr_expect(got && strcmp(got, names[i][1]) == 0, "%s: %s", names[i][0], got ? got : "NULL");
		else
			cr_expect_null(got, "%s: %s", names[i][0], got);
	}
}

Test(domain, the_text_list_alone_is_parsed, .init = tmp_copies, .fini = rm_copies)
{
	copy_file(DOMAIN_DEFAULT_PSL, dat);
	struct domain_db *d = domain_open(dat, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(domain_source(d), dat);
	expect_examples(d);
	domain_close(d);
}

Test(domain, the_compiled_list_gives_the_same_answers, .init = tmp_copies, .fini = rm_copies)
{
	copy_file(DOMAIN_DEFAULT_PSL, dat);
	copy_file(DEBIAN_DAFSA, dafsa);
	set_mtime(dat, 1700000000);
	set_mtime(dafsa, 1700000000);
	struct domain_db *d = domain_open(dat, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(domain_source(d), dafsa);
	expect_examples(d);
	domain_close(d);
}

Test(domain, a_compiled_list_older_than_the_text_is_ignored, .init = tmp_copies, .fini = rm_copies)
{
	copy_file(DOMAIN_DEFAULT_PSL, dat);
	copy_file(DEBIAN_DAFSA, dafsa);
	set_mtime(dat, 1700000000);
	set_mtime(dafsa, 1600000000);
	struct domain_db *d = domain_open(dat, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(domain_source(d), dat);
	domain_close(d);
}

Test(domain, a_damaged_compiled_list_falls_back_to_the_text, .init = tmp_copies, .fini = rm_copies)
{
	copy_file(DOMAIN_DEFAULT_PSL, dat);
	copy_file("tests/data/oui/quoted/mam.csv", dafsa);
	set_mtime(dat, 1600000000);
	set_mtime(dafsa, 1700000000);
	struct domain_db *d = domain_open(dat, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	cr_expect_str_eq(domain_source(d), dat);
	expect_examples(d);
	domain_close(d);
}
