/*
 * The malformed-capture corpus (pcaps/malformed, written by `iotgen
 * malformed`): the committed files are what the generator writes, iotids
 * prints each one's golden transcript (exit status, stderr, stdout; listed
 * in tests/golden/malformed/CASES), and properties that hold for every file
 * and every cut: what the reader gives before a fault, the one line that
 * names it, the times it reads, how cuts of a packet are counted.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/cap.h"
#include "features/decode.h"
#include "tests/genrun.h"

#define CORPUS "pcaps/malformed"
#define GOLDEN "tests/golden/malformed"
#define MAX_RECORDS 1024
/* The latest time the reader gives (capture/cap_file.c): 9999-12-31T23:59:59.999999Z. */
#define TS_MAX_US 253402300799999999ull

extern char **environ;

static void setup(void)
{
	genrun_setup();
	setenv("TZ", "UTC", 1);
}

TestSuite(malformed, .init = setup, .fini = genrun_teardown, .timeout = 300);

struct run {
	int status;
	char *out, *err;
	size_t out_len;
};

/* Runs $IOTIDS_BIN with the NULL-terminated arguments, from the repository
 * root (the corpus paths are relative to it). */
static struct run run_iotids(const char *const *args)
{
	const char *bin = getenv("IOTIDS_BIN");
	char *argv[32], out[256], err[256];
	posix_spawn_file_actions_t fa;
	struct run r = {0};
	int argc = 0, st;
	pid_t pid;

	cr_assert_not_null(bin, "IOTIDS_BIN is not set (make test sets it)");
	argv[argc++] = (char *)bin;
	for (; *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	snprintf(out, sizeof(out), "%s", genrun_path("iotids.out"));
	snprintf(err, sizeof(err), "%s", genrun_path("iotids.err"));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0, "cannot run %s", bin);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "iotids died (signal %d) on %s", WIFSIGNALED(st) ? WTERMSIG(st) : 0, argv[argc - 1]);
	r.status = WEXITSTATUS(st);
	r.out = genrun_slurp(out, &r.out_len);
	r.err = genrun_slurp(err, NULL);
	cr_assert(r.out && r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Splits s (modified) at spaces into argv, NULL-terminated. */
static int split_args(char *s, char **argv, int max)
{
	int n = 0;
	for (char *tok = s; tok && *tok && n < max - 1;) {
		char *sp = strchr(tok, ' ');
		if (sp)
			*sp++ = '\0';
		if (*tok)
			argv[n++] = tok;
		tok = sp;
	}
	argv[n] = NULL;
	return n;
}

/* The corpus's capture files, NULL-terminated, malloc'd names. */
static char **corpus_files(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: cannot list", dir);
	char **names = calloc(256, sizeof(*names));
	cr_assert_not_null(names);
	struct dirent *e;
	*n = 0;
	while ((e = readdir(d)) && *n < 255)
		if (e->d_name[0] != '.')
			names[(*n)++] = strdup(e->d_name);
	closedir(d);
	return names;
}

static void names_free(char **names)
{
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

static bool is_capture(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".pcap")) || (n > 7 && !strcmp(name + n - 7, ".pcapng"));
}

Test(malformed, the_committed_corpus_is_what_iotgen_malformed_writes_byte_for_byte)
{
	const char *dir = genrun_path("corpus");
	char fresh[256], committed[512];
	snprintf(fresh, sizeof(fresh), "%s", dir);
	cr_assert_eq(genrun_run("malformed", "-o", fresh, NULL), 0);
	size_t n = 0, m = 0;
	char **made = corpus_files(fresh, &n), **have = corpus_files(CORPUS, &m);
	for (char **p = made; *p; p++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", fresh, *p);
		snprintf(committed, sizeof(committed), CORPUS "/%s", *p);
		cr_expect(genrun_same_file(path, committed), "%s differs from what 'iotgen malformed' writes (or is missing)",
			  committed);
	}
	for (char **p = have; *p; p++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", fresh, *p);
		cr_expect_eq(access(path, F_OK), 0, CORPUS "/%s is not written by 'iotgen malformed' any more", *p);
	}
	cr_expect_gt(n, 40);
	names_free(made);
	names_free(have);
}

/* "exit N", stderr, stdout: the form of every expected file (update.sh). */
static char *transcript(const struct run *r, size_t *len)
{
	size_t cap = r->out_len + strlen(r->err) + 64;
	char *t = malloc(cap);
	cr_assert_not_null(t);
	int head = snprintf(t, cap, "exit %d\n--- stderr\n%s--- stdout\n", r->status, r->err);
	memcpy(t + head, r->out, r->out_len);
	*len = (size_t)head + r->out_len;
	return t;
}

Test(malformed, every_golden_case_prints_its_expected_transcript)
{
	FILE *list = fopen(GOLDEN "/CASES", "r");
	cr_assert_not_null(list, GOLDEN "/CASES is missing");
	char line[512];
	int cases = 0;
	while (fgets(line, sizeof(line), list)) {
		char *tab = strchr(line, '\t'), *argv[16], expected[600];
		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		tab[strcspn(tab + 1, "\n") + 1] = '\0';
		int argc = split_args(tab + 1, argv, 16);
		cr_assert_gt(argc, 1, "%s: no arguments", line);
		const char *file = argv[argc - 1];
		struct run r = run_iotids((const char *const *)argv);
		size_t n = 0, got_len = 0;
		snprintf(expected, sizeof(expected), GOLDEN "/%s", line);
		char *want = genrun_slurp(expected, &n), *got = transcript(&r, &got_len);
		cr_assert_not_null(want, "missing %s (" GOLDEN "/update.sh writes it)", expected);
		cr_expect(n == got_len && memcmp(want, got, n) == 0, "%s: not what %s holds; got:\n%.*s", file, expected,
			  (int)got_len, got);
		/* What every file must give, whatever its transcript says. */
		cr_expect(r.status == 0 || r.status == 1, "%s: exit %d", file, r.status);
		if (r.status == 0) {
			cr_expect_str_empty(r.err, "%s: exit 0 with a message: %s", file, r.err);
		} else {
			char prefix[300];
			snprintf(prefix, sizeof(prefix), "iotids: %s: ", file);
			cr_expect(!strncmp(r.err, prefix, strlen(prefix)), "%s: the message does not name the file: %s",
				  file, r.err);
			cr_expect(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "%s: not one line: %s", file, r.err);
		}
		free(want);
		free(got);
		run_free(&r);
		cases++;
	}
	fclose(list);
	cr_expect_geq(cases, 50);
}

Test(malformed, every_corpus_file_has_a_golden_case)
{
	size_t n = 0;
	char *cases = genrun_slurp(GOLDEN "/CASES", NULL);
	cr_assert_not_null(cases);
	char **names = corpus_files(CORPUS, &n);
	size_t captures = 0;
	for (char **p = names; *p; p++) {
		if (!is_capture(*p))
			continue;
		char needle[300];
		snprintf(needle, sizeof(needle), " " CORPUS "/%s\n", *p);
		cr_expect_not_null(strstr(cases, needle), CORPUS "/%s has no case in " GOLDEN "/CASES", *p);
		captures++;
	}
	cr_expect_gt(captures, 40);
	names_free(names);
	free(cases);
}

/* ---- the layout of a capture, read by the test itself ---------------- */

struct layout {
	size_t header_end;           /* bytes libpcap reads before the first packet */
	size_t bounds[MAX_RECORDS];  /* offsets where a record or block ends */
	bool packet[MAX_RECORDS];    /* ... and whether it held a packet */
	size_t n;
};

static uint32_t rd32(const unsigned char *p, bool be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		  : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void add_bound(struct layout *l, size_t end, bool packet)
{
	cr_assert_lt(l->n, MAX_RECORDS);
	l->bounds[l->n] = end;
	l->packet[l->n++] = packet;
}

/* Records (classic) or blocks (pcapng) that lie whole in the file. */
static void layout_of(const unsigned char *b, size_t len, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	cr_assert_geq(len, 24);
	if (rd32(b, false) == 0x0A0D0D0Au) {
		bool be = false;
		for (size_t off = 0; off + 12 <= len;) {
			uint32_t type = rd32(b + off, be);
			if (type == 0x0A0D0D0Au)
				be = b[off + 8] == 0x1A;
			uint32_t blen = rd32(b + off + 4, be);
			if (blen < 12 || blen > len - off)
				break;
			off += blen;
			add_bound(l, off, type == 6 || type == 3 || type == 2);
			if (type == 1 && !l->header_end)
				l->header_end = off;
		}
		return;
	}
	bool be = rd32(b, true) == 0xa1b2c3d4u || rd32(b, true) == 0xa1b23c4du;
	l->header_end = 24;
	for (size_t off = 24; off + 16 <= len;) {
		uint32_t caplen = rd32(b + off + 8, be);
		if (caplen > len - off - 16)
			break;
		off += 16 + caplen;
		add_bound(l, off, true);
	}
}

struct pkt_seen {
	uint64_t ts_us;
	uint32_t caplen, wirelen;
};

/* Reads path to its end; the packets into seen (up to max). */
static size_t read_all(const char *path, struct pkt_seen *seen, size_t max, enum cap_status *last, char *err,
		       size_t errlen)
{
	struct cap_source *s = cap_open_file(path, err, errlen);
	struct cap_packet p;
	size_t n = 0;
	*last = CAP_ERROR;
	if (!s)
		return 0;
	while ((*last = cap_next(s, &p)) == CAP_PACKET) {
		if (n < max)
			seen[n] = (struct pkt_seen){p.ts_us, p.caplen, p.wirelen};
		n++;
	}
	snprintf(err, errlen, "%s", cap_error(s));
	cap_close(s);
	return n;
}

/* "every header truncated at every byte", for the file's own headers: each
 * prefix of a good capture opens (once its header is whole), gives exactly
 * the packets that lie whole in it, as the whole file gives them, and then
 * ends cleanly on a record boundary, or else fails with one line naming the
 * file and the packet after the last whole one. */
static void cut_everywhere(const char *name)
{
	char path[256], cut[256], err[512], want[400];
	static struct pkt_seen all[MAX_RECORDS], got[MAX_RECORDS];
	struct layout l;
	enum cap_status st;
	size_t len = 0;

	snprintf(path, sizeof(path), CORPUS "/%s", name);
	snprintf(cut, sizeof(cut), "%s", genrun_path(name));
	unsigned char *b = (unsigned char *)genrun_slurp(path, &len);
	cr_assert_not_null(b, "%s: cannot read", path);
	layout_of(b, len, &l);
	size_t total = read_all(path, all, MAX_RECORDS, &st, err, sizeof(err));
	cr_assert_eq(st, CAP_END, "%s: %s", path, err);
	cr_assert_gt(total, 0);
	for (size_t at = 0; at <= len; at++) {
		FILE *f = fopen(cut, "wb");
		cr_assert_not_null(f);
		cr_assert_eq(fwrite(b, 1, at, f), at);
		fclose(f);
		size_t packets = 0;
		bool bound = at == l.header_end;
		for (size_t i = 0; i < l.n && l.bounds[i] <= at; i++) {
			packets += l.packet[i];
			bound |= l.bounds[i] == at;
		}
		size_t n = read_all(cut, got, MAX_RECORDS, &st, err, sizeof(err));
		cr_expect(!strchr(err, '\n'), "%s cut at %zu: more than one line: %s", name, at, err);
		if (at < l.header_end) {
			cr_expect(n == 0 && st == CAP_ERROR, "%s cut at %zu (in its header) opened", name, at);
			cr_expect_not_null(strstr(err, cut), "%s cut at %zu: the error does not name the file: %s", name, at, err);
			continue;
		}
		cr_expect_eq(n, packets, "%s cut at %zu: %zu packets, %zu lie whole before the cut", name, at, n, packets);
		for (size_t i = 0; i < n && i < packets; i++)
			cr_expect(got[i].ts_us == all[i].ts_us && got[i].caplen == all[i].caplen &&
					  got[i].wirelen == all[i].wirelen,
				  "%s cut at %zu: packet %zu is not what the whole file gives", name, at, i + 1);
		if (bound) {
			cr_expect_eq(st, CAP_END, "%s cut at %zu (a boundary): %s", name, at, err);
		} else {
			snprintf(want, sizeof(want), "%s: packet %zu: ", cut, packets + 1);
			cr_expect_eq(st, CAP_ERROR, "%s cut at %zu ended cleanly", name, at);
			cr_expect(!strncmp(err, want, strlen(want)), "%s cut at %zu: '%s' is not '%s...'", name, at, err, want);
		}
	}
	free(b);
}

Test(malformed, a_classic_capture_cut_at_every_byte_gives_what_lies_before_the_cut_then_one_error)
{
	cut_everywhere("good-le.pcap");
	cut_everywhere("good-be.pcap");
	cut_everywhere("ts-nsec.pcap");
}

Test(malformed, a_pcapng_capture_cut_at_every_byte_gives_what_lies_before_the_cut_then_one_error)
{
	cut_everywhere("ng-good.pcapng");
	cut_everywhere("ng-be.pcapng");
	cut_everywhere("ng-unknown-blocks.pcapng");
	cut_everywhere("ng-unknown-options.pcapng");
	cut_everywhere("ng-shb-middle.pcapng");
}

/* Classic pcap times are two unsigned 32-bit fields (seconds, and micro- or
 * nanoseconds by the magic): each record the reader gives must carry
 * exactly that time, from 1970 to 2106, fractions past a second carried. */
Test(malformed, every_classic_record_is_read_at_the_time_its_unsigned_fields_say)
{
	size_t n = 0, checked = 0, past_2038 = 0, big_fraction = 0;
	char **names = corpus_files(CORPUS, &n);
	for (char **p = names; *p; p++) {
		size_t len = strlen(*p), flen = 0;
		if (len < 6 || strcmp(*p + len - 5, ".pcap") != 0)
			continue;
		char path[300], err[512];
		snprintf(path, sizeof(path), CORPUS "/%s", *p);
		unsigned char *b = (unsigned char *)genrun_slurp(path, &flen);
		cr_assert_not_null(b);
		struct cap_source *s = flen >= 24 ? cap_open_file(path, err, sizeof(err)) : NULL;
		if (!s) {
			free(b);
			continue;
		}
		bool be = rd32(b, true) == 0xa1b2c3d4u || rd32(b, true) == 0xa1b23c4du;
		bool ns = rd32(b, be) == 0xa1b23c4du;
		size_t off = 24;
		struct cap_packet pk;
		while (cap_next(s, &pk) == CAP_PACKET) {
			cr_assert_leq(off + 16, flen, "%s: a packet past the file's records", path);
			uint32_t sec = rd32(b + off, be), frac = rd32(b + off + 4, be), caplen = rd32(b + off + 8, be);
			uint64_t want = (uint64_t)sec * 1000000u + (ns ? frac / 1000u : frac);
			cr_expect_eq(pk.ts_us, want, "%s, record at %zu: time %llu us, its fields say %llu", path, off,
				     (unsigned long long)pk.ts_us, (unsigned long long)want);
			past_2038 += sec >= 0x80000000u;
			big_fraction += frac >= 0x80000000u;
			checked++;
			off += 16 + caplen;
		}
		cap_close(s);
		free(b);
	}
	names_free(names);
	cr_expect_gt(checked, 400);
	cr_expect_gt(past_2038, 0, "the corpus holds no time past 2038");
	cr_expect_gt(big_fraction, 0, "the corpus holds no fraction of 2^31 or more");
}

Test(malformed, no_pcapng_time_is_past_the_last_microsecond_of_9999)
{
	size_t n = 0, packets = 0, at_max = 0;
	char **names = corpus_files(CORPUS, &n);
	static struct pkt_seen seen[MAX_RECORDS];
	for (char **p = names; *p; p++) {
		size_t len = strlen(*p);
		if (len < 8 || strcmp(*p + len - 7, ".pcapng") != 0)
			continue;
		char path[300], err[512];
		enum cap_status st;
		snprintf(path, sizeof(path), CORPUS "/%s", *p);
		size_t k = read_all(path, seen, MAX_RECORDS, &st, err, sizeof(err));
		for (size_t i = 0; i < k; i++) {
			cr_expect_leq(seen[i].ts_us, TS_MAX_US, "%s packet %zu: %llu us", path, i + 1,
				      (unsigned long long)seen[i].ts_us);
			at_max += seen[i].ts_us == TS_MAX_US;
		}
		packets += k;
	}
	names_free(names);
	cr_expect_gt(packets, 40);
	cr_expect_gt(at_max, 0, "no pcapng time reached the bound: the absurd-times file is not absurd");
}

/* A cut packet is a truncation, never an invalid field: every cut of a
 * reference packet is counted once, decoded or malformed under a reason of
 * the "truncated" kind, and the whole packet decodes. */
Test(malformed, every_cut_of_a_reference_packet_is_counted_once_as_a_truncation)
{
	size_t n = 0, sweeps = 0;
	char **names = corpus_files(CORPUS, &n);
	for (char **p = names; *p; p++) {
		if (strncmp(*p, "trunc-", 6) != 0 || !is_capture(*p))
			continue;
		char path[300];
		struct layout l;
		size_t flen = 0;
		snprintf(path, sizeof(path), CORPUS "/%s", *p);
		unsigned char *b = (unsigned char *)genrun_slurp(path, &flen);
		cr_assert_not_null(b);
		layout_of(b, flen, &l);
		cr_assert_gt(l.n, 1);
		size_t whole = l.bounds[l.n - 1] - l.bounds[l.n - 2] - 16; /* the last record is the whole packet */
		free(b);
		struct run r = run_iotids((const char *[]){"replay", "--json", "--no-dpi", "--no-detect", path, NULL});
		cr_assert_eq(r.status, 0, "%s: %s", path, r.err);
		json_error_t e;
		json_t *o = json_loads(r.out, 0, &e);
		cr_assert_not_null(o, "%s: %s", path, e.text);
		json_int_t packets = json_integer_value(json_object_get(o, "packets"));
		json_int_t decoded = json_integer_value(json_object_get(o, "decoded"));
		json_int_t other = json_integer_value(json_object_get(o, "other"));
		json_int_t bad = json_integer_value(json_object_get(o, "malformed_total"));
		cr_expect_eq(packets, (json_int_t)whole + 1, "%s: %lld packets for cuts 0..%zu", path, (long long)packets,
			     whole);
		cr_expect_eq(decoded + other + bad, packets, "%s: cuts counted %lld times", path,
			     (long long)(decoded + other + bad));
		cr_expect_geq(decoded, 1, "%s: the whole packet does not decode", path);
		const char *reason;
		json_t *count;
		json_int_t sum = 0;
		json_object_foreach(json_object_get(o, "malformed"), reason, count)
		{
			bool truncation = false;
			for (int i = 0; i < DEC_RESULT_COUNT; i++)
				if (!strcmp(dec_result_name((enum dec_result)i), reason))
					truncation = dec_result_is_truncation((enum dec_result)i);
			cr_expect(truncation, "%s: a cut counted as %s, not a truncation", path, reason);
			sum += json_integer_value(count);
		}
		cr_expect_eq(sum, bad, "%s: reasons add up to %lld of %lld", path, (long long)sum, (long long)bad);
		json_decref(o);
		run_free(&r);
		sweeps++;
	}
	names_free(names);
	cr_expect_eq(sweeps, 5);
}

Test(malformed, iotgen_malformed_needs_a_directory_and_says_when_it_cannot_write)
{
	cr_expect_eq(genrun_run("malformed", "--help", NULL), 0);
	cr_expect_eq(genrun_run("malformed", NULL), 2, "no -o");
	cr_expect_eq(genrun_run("malformed", "-o", genrun_path("x"), "extra", NULL), 2);
	cr_expect_eq(genrun_run("malformed", "--bogus", NULL), 2);
	cr_expect_eq(genrun_run("malformed", "-o", "/nonexistent/dir/corpus", NULL), 1);
	char *err = genrun_slurp(genrun_path("err.txt"), NULL);
	cr_expect(err && strstr(err, "/nonexistent/dir/corpus"), "the error does not name the directory: %s", err);
	free(err);
}
