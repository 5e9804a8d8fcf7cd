/*
 * Tests for detector/spool.c through its API and the files it leaves:
 * order and seqs across peeks, consumes and reopens; recovery from a torn
 * tail and from damage in an older segment; both full policies and the cap
 * on disk; refused records; the lock and bad directories; a write failing
 * halfway (RLIMIT_FSIZE); the on-disk format as spool.c documents it.
 */
#include "detector/spool.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RECS 8192

static char dir[64], sdir[96];
static struct spool_record recs[MAX_RECS];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/iotids-spool-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(spool, .init = setup, .fini = teardown);

static struct spool *open_spool(uint64_t max_bytes, enum spool_when_full when_full)
{
	struct spool_config c = {.dir = sdir, .max_bytes = max_bytes, .when_full = when_full};
	struct spool *s = NULL;
	char err[256];
	int rc = spool_open(&c, &s, err, sizeof(err));
	cr_assert_eq(rc, 0, "spool_open: %d %s", rc, err);
	cr_assert_not_null(s);
	return s;
}

static struct spool_stats stats(const struct spool *s)
{
	struct spool_stats st;
	spool_stats(s, &st);
	return st;
}

/* Record i's payload: its own length (20 to 419 bytes) and bytes, so a
 * record that comes back in the wrong place or damaged does not compare. */
static size_t payload(unsigned i, uint8_t *buf)
{
	size_t len = 20 + (i * 37u) % 400;
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(i * 31u + k * 7u + (i >> 8));
	return len;
}

static void append_one(struct spool *s, unsigned i)
{
	uint8_t buf[512];
	size_t len = payload(i, buf);
	int rc = spool_append(s, buf, len);
	cr_assert_eq(rc, 0, "append %u: %d", i, rc);
}

static void append_range(struct spool *s, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		append_one(s, i);
}

static bool is_payload(const struct spool_record *r, unsigned i)
{
	uint8_t buf[512];
	size_t len = payload(i, buf);
	return r->len == len && memcmp(r->data, buf, len) == 0;
}

/* Every pending record, without consuming. */
static int peek_all(struct spool *s)
{
	int n = spool_peek(s, recs, MAX_RECS, SIZE_MAX);
	cr_assert_geq(n, 0, "peek: %d", n);
	return n;
}

/* The pending records are seqs first.. with payloads of first_i.., n of them. */
static void expect_pending(struct spool *s, uint64_t first, unsigned first_i, int n)
{
	int got = peek_all(s);
	cr_assert_eq(got, n, "pending records: %d, expected %d", got, n);
	for (int k = 0; k < n; k++) {
		cr_assert_eq(recs[k].seq, first + (uint64_t)k, "record %d has seq %lu", k, (unsigned long)recs[k].seq);
		cr_assert(is_payload(&recs[k], first_i + (unsigned)k), "record %d (seq %lu) has the wrong bytes", k,
			  (unsigned long)recs[k].seq);
	}
	cr_assert_eq(stats(s).pending, (uint64_t)n);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segment files, sorted (names owned by the caller: free_names), their
 * number, and their total size in *bytes. */
static char **seg_files(size_t *n, uint64_t *bytes)
{
	static char *names[1024];
	DIR *d = opendir(sdir);
	struct dirent *e;
	*n = 0;
	*bytes = 0;
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l != 20 || strcmp(e->d_name + 16, ".seg") != 0)
			continue;
		char path[sizeof(sdir) + 32];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%.20s", sdir, e->d_name);
		cr_assert_eq(stat(path, &st), 0);
		*bytes += (uint64_t)st.st_size;
		cr_assert_lt(*n, 1024);
		names[(*n)++] = strdup(path);
	}
	closedir(d);
	qsort(names, *n, sizeof(names[0]), name_cmp);
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return (uint64_t)st.st_size;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The offsets where the records of a segment file start, by their lengths. */
static size_t record_offsets(const char *path, uint64_t *offs, size_t max)
{
	uint64_t size = file_size(path), off = 0;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f);
	while (off + 20 <= size && n < max) {
		uint8_t h[20];
		cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
		cr_assert_eq(fread(h, 1, 20, f), 20);
		offs[n++] = off;
		off += 20 + le32(h + 4);
	}
	fclose(f);
	return n;
}

/* Writes len bytes at off of path (past the end: appends). */
static void poke(const char *path, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* A bitwise CRC-32 (zlib's), apart from the one spool.c has. */
static uint32_t crc32_ref(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

Test(spool, records_come_back_in_order_with_their_bytes)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	expect_pending(s, 1, 0, 0);
	append_range(s, 0, 50);
	expect_pending(s, 1, 0, 50);
	spool_close(s);
}

Test(spool, a_peek_without_consume_returns_the_same_records_again)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 10);
	cr_assert_eq(spool_peek(s, recs, 3, SIZE_MAX), 3);
	cr_assert_eq(recs[0].seq, 1);
	cr_assert_eq(recs[2].seq, 3);
	expect_pending(s, 1, 0, 10);
	expect_pending(s, 1, 0, 10);
	spool_close(s);
}

Test(spool, consume_then_peek_gives_the_next_records)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 10);
	cr_assert_eq(spool_consume(s, 4), 0);
	expect_pending(s, 5, 4, 6);
	cr_assert_eq(spool_consume(s, 2), 0, "an older through is no error");
	expect_pending(s, 5, 4, 6);
	cr_assert_eq(spool_consume(s, 9), 0);
	expect_pending(s, 10, 9, 1);
	cr_assert_eq(stats(s).consumed, 9);
	spool_close(s);
}

Test(spool, a_peek_stops_at_max_records_or_before_max_bytes_but_returns_at_least_one)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	uint8_t buf[100];
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 5; i++)
		cr_assert_eq(spool_append(s, buf, sizeof(buf)), 0);
	cr_assert_eq(spool_peek(s, recs, 3, SIZE_MAX), 3);
	cr_assert_eq(spool_peek(s, recs, 10, 250), 2, "a third record would make 300 bytes");
	cr_assert_eq(spool_peek(s, recs, 10, 300), 3);
	cr_assert_eq(spool_peek(s, recs, 10, 50), 1, "one record even when it alone passes max_bytes");
	cr_assert_eq(recs[0].seq, 1);
	cr_assert_eq(recs[0].len, 100);
	cr_assert_eq(spool_peek(s, recs, 0, SIZE_MAX), 0);
	spool_close(s);
}

Test(spool, a_record_without_payload_comes_back_empty)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(spool_append(s, NULL, 0), 0);
	append_one(s, 7);
	cr_assert_eq(spool_peek(s, recs, 10, SIZE_MAX), 2);
	cr_assert_eq(recs[0].len, 0);
	cr_assert_not_null(recs[0].data);
	cr_assert(is_payload(&recs[1], 7));
	spool_close(s);
}

Test(spool, peeked_data_stays_valid_across_append_and_consume)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 5);
	cr_assert_eq(spool_peek(s, recs, 5, SIZE_MAX), 5);
	append_range(s, 5, 300);
	cr_assert_eq(spool_consume(s, 5), 0);
	for (unsigned k = 0; k < 5; k++)
		cr_assert(is_payload(&recs[k], k), "record %u moved", k);
	spool_close(s);
}

Test(spool, close_and_reopen_keeps_unconsumed_records_and_their_seqs)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 400); /* several segments */
	cr_assert_eq(spool_consume(s, 150), 0);
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	expect_pending(s, 151, 150, 250);
	cr_assert_eq(stats(s).corrupt, 0);
	append_one(s, 400);
	expect_pending(s, 151, 150, 251);
	spool_close(s);
}

Test(spool, seqs_keep_increasing_after_everything_was_consumed_and_the_files_deleted)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 30);
	cr_assert_eq(spool_consume(s, UINT64_MAX), 0, "a through past the newest is the newest");
	struct spool_stats st = stats(s);
	cr_assert_eq(st.pending, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.consumed, 30);
	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 0, "segment files left: %zu", n);
	free_names(names, n);
	append_one(s, 30);
	expect_pending(s, 31, 30, 1);
	cr_assert_eq(spool_consume(s, 31), 0);
	spool_close(s);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	expect_pending(s, 0, 0, 0);
	append_one(s, 31);
	expect_pending(s, 32, 31, 1);
	spool_close(s);
}

Test(spool, a_torn_record_at_the_tail_is_truncated_away_and_the_records_before_it_kept)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 5);
	spool_close(s);
	size_t n;
	uint64_t bytes, offs[16];
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 1);
	cr_assert_eq(record_offsets(names[0], offs, 16), 5);
	cr_assert_eq(truncate(names[0], (off_t)(offs[4] + 27)), 0, "cut in the payload of the fifth");

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 1);
	expect_pending(s, 1, 0, 4);
	cr_assert_eq(file_size(names[0]), offs[4], "the torn record is truncated away");
	cr_assert_eq(stats(s).bytes, offs[4]);
	append_range(s, 100, 103);
	spool_close(s);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 0);
	cr_assert_eq(peek_all(s), 7);
	for (unsigned k = 0; k < 7; k++) {
		cr_assert_eq(recs[k].seq, k + 1);
		cr_assert(is_payload(&recs[k], k < 4 ? k : 100 + k - 4));
	}
	spool_close(s);
	free_names(names, n);
}

Test(spool, garbage_after_the_last_record_is_truncated_away)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 3);
	spool_close(s);
	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 1);
	poke(names[0], bytes, "not a record at all", 19);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 1);
	expect_pending(s, 1, 0, 3);
	cr_assert_eq(file_size(names[0]), bytes);
	append_one(s, 3);
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 0);
	expect_pending(s, 1, 0, 4);
	spool_close(s);
	free_names(names, n);
}

Test(spool, an_intact_record_repeated_after_the_last_is_cut_as_a_seq_going_back)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 3);
	spool_close(s);
	size_t n;
	uint64_t bytes, offs[8];
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 1);
	cr_assert_eq(record_offsets(names[0], offs, 8), 3);
	uint8_t first[512];
	size_t len = (size_t)offs[1];
	FILE *f = fopen(names[0], "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(first, 1, len, f), len);
	fclose(f);
	poke(names[0], bytes, first, len); /* a good crc, but seq 1 after seq 3 */

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 1);
	expect_pending(s, 1, 0, 3);
	cr_assert_eq(file_size(names[0]), bytes);
	spool_close(s);
	free_names(names, n);
}

Test(spool, a_flipped_byte_in_an_older_segment_ends_that_segment_and_the_later_ones_are_delivered)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 120); /* about 26 KB: segments of 8 KB */
	spool_close(s);
	size_t n;
	uint64_t bytes, offs[64];
	char **names = seg_files(&n, &bytes);
	cr_assert_geq(n, 3);
	size_t in_first = record_offsets(names[0], offs, 64);
	cr_assert_geq(in_first, 5);
	size_t bad = in_first / 2;
	uint8_t b;
	FILE *f = fopen(names[0], "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, (long)offs[bad] + 20 + 3, SEEK_SET), 0);
	cr_assert_eq(fread(&b, 1, 1, f), 1);
	b ^= 0x40;
	cr_assert_eq(fseek(f, (long)offs[bad] + 20 + 3, SEEK_SET), 0);
	cr_assert_eq(fwrite(&b, 1, 1, f), 1);
	cr_assert_eq(fclose(f), 0);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	struct spool_stats st = stats(s);
	cr_assert_eq(st.corrupt, 1);
	cr_assert_eq(st.pending, 120 - (in_first - bad));
	cr_assert_eq(st.bytes, bytes, "the older segment is skipped, not truncated");
	int got = peek_all(s);
	cr_assert_eq(got, (int)(120 - (in_first - bad)));
	for (int k = 0; k < got; k++) {
		unsigned i = (unsigned)k < bad ? (unsigned)k : (unsigned)k + (unsigned)(in_first - bad);
		cr_assert_eq(recs[k].seq, i + 1);
		cr_assert(is_payload(&recs[k], i));
	}
	cr_assert_eq(spool_consume(s, recs[got - 1].seq), 0);
	cr_assert_eq(stats(s).bytes, 0);
	spool_close(s);
	free_names(names, n);
}

Test(spool, damage_found_while_reading_the_tail_ends_it_and_appends_go_on_after_the_good_records)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 4);
	size_t n;
	uint64_t bytes, offs[8];
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 1);
	cr_assert_eq(record_offsets(names[0], offs, 8), 4);
	poke(names[0], offs[2], "JUNK", 4);
	int got = peek_all(s);
	cr_assert_eq(got, 2);
	cr_assert_eq(stats(s).corrupt, 1);
	cr_assert_eq(stats(s).pending, 2);
	cr_assert_eq(file_size(names[0]), offs[2]);
	append_one(s, 10);
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 0);
	cr_assert_eq(peek_all(s), 3);
	cr_assert(is_payload(&recs[2], 10));
	cr_assert_eq(recs[2].seq, 5, "the seq of the lost record is not reused");
	spool_close(s);
	free_names(names, n);
}

Test(spool, drop_oldest_keeps_the_newest_records_contiguous_within_the_cap)
{
	const unsigned total = 3000; /* about 660 KB into a 64 KiB cap */
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	uint64_t lost = 0, before = 0;
	for (unsigned i = 0; i < total; i++) {
		append_one(s, i);
		struct spool_stats st = stats(s);
		cr_assert_leq(st.bytes, SPOOL_MIN_BYTES, "bytes %lu after record %u", (unsigned long)st.bytes, i);
		cr_assert_eq(st.pending + st.dropped, i + 1);
		if (st.pending < before + 1)
			lost += before + 1 - st.pending;
		before = st.pending;
	}
	struct spool_stats st = stats(s);
	cr_assert_gt(st.dropped, 0);
	cr_assert_eq(st.dropped, lost);
	cr_assert_gt(st.bytes, SPOOL_MIN_BYTES / 2, "only whole segments go: %lu", (unsigned long)st.bytes);
	uint64_t first = total - st.pending + 1;
	expect_pending(s, first, (unsigned)(first - 1), (int)st.pending);
	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_leq(bytes, SPOOL_MIN_BYTES);
	cr_assert_eq(bytes, st.bytes);
	cr_assert_leq(n, 10, "%zu segments", n);
	free_names(names, n);
	spool_close(s);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	expect_pending(s, first, (unsigned)(first - 1), (int)st.pending);
	spool_close(s);
}

Test(spool, drop_oldest_moves_the_read_position_past_a_dropped_partly_consumed_segment)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 10);
	cr_assert_eq(spool_consume(s, 3), 0);
	cr_assert_eq(spool_peek(s, recs, 4, SIZE_MAX), 4); /* seqs 4-7: being delivered */
	unsigned i = 10;
	while (stats(s).dropped == 0 && i < 1000) /* 64 KiB hold about 290 */
		append_one(s, i++);
	struct spool_stats st = stats(s);
	cr_assert_geq(st.dropped, 7, "the first segment's unconsumed records, peeked or not");
	cr_assert_eq(st.dropped + st.pending + 3, i);
	cr_assert_eq(spool_consume(s, 7), 0, "consuming records already dropped is no error");
	cr_assert_eq(stats(s).pending, st.pending);
	cr_assert_eq(stats(s).consumed, 3);
	uint64_t first = i - st.pending + 1;
	cr_assert_gt(first, 10);
	expect_pending(s, first, (unsigned)(first - 1), (int)st.pending);
	spool_close(s);
}

Test(spool, drop_newest_refuses_new_records_until_some_are_consumed)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_NEWEST);
	uint8_t buf[1000];
	memset(buf, 'a', sizeof(buf));
	int kept = 0, refused = 0;
	for (int i = 0; i < 100; i++) {
		int rc = spool_append(s, buf, sizeof(buf));
		cr_assert(rc == 0 || rc == 1, "append: %d", rc);
		if (rc == 0) {
			cr_assert_eq(refused, 0, "a record kept after one was refused");
			kept++;
		} else {
			refused++;
		}
		cr_assert_leq(stats(s).bytes, SPOOL_MIN_BYTES);
	}
	cr_assert_eq(kept, SPOOL_MIN_BYTES / 1020);
	struct spool_stats st = stats(s);
	cr_assert_eq(st.dropped, (uint64_t)refused);
	cr_assert_eq(st.pending, (uint64_t)kept);
	cr_assert_eq(st.appended, (uint64_t)kept);
	cr_assert_eq(spool_peek(s, recs, MAX_RECS, SIZE_MAX), kept);
	cr_assert_eq(recs[0].seq, 1, "the first records are the ones kept");
	cr_assert_eq(recs[kept - 1].seq, (uint64_t)kept);
	cr_assert_eq(spool_consume(s, 20), 0);
	cr_assert_eq(spool_append(s, buf, sizeof(buf)), 0, "room again after a consume");
	cr_assert_eq(peek_all(s), kept - 20 + 1);
	cr_assert_eq(recs[kept - 20].seq, (uint64_t)kept + 1, "refused records take no seq");
	spool_close(s);
}

Test(spool, a_record_too_large_is_refused_counted_and_leaves_the_spool_unchanged)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 3);
	struct spool_stats before = stats(s);
	uint8_t *big = calloc(1, SPOOL_RECORD_MAX + 1);
	cr_assert_not_null(big);
	cr_assert_eq(spool_append(s, big, SPOOL_RECORD_MAX + 1), -EMSGSIZE);
	cr_assert_eq(spool_append(s, big, SPOOL_MIN_BYTES), -EMSGSIZE, "larger than the cap with its header");
	struct spool_stats st = stats(s);
	cr_assert_eq(st.dropped, 2);
	cr_assert_eq(st.bytes, before.bytes);
	cr_assert_eq(st.appended, 3);
	expect_pending(s, 1, 0, 3);
	append_one(s, 3);
	expect_pending(s, 1, 0, 4);
	free(big);
	spool_close(s);
}

Test(spool, a_record_larger_than_a_segment_gets_its_own_segment)
{
	struct spool *s = open_spool(4 * SPOOL_RECORD_MAX, SPOOL_DROP_OLDEST); /* segments of 512 KiB */
	uint8_t *big = malloc(SPOOL_RECORD_MAX);
	cr_assert_not_null(big);
	for (size_t k = 0; k < SPOOL_RECORD_MAX; k++)
		big[k] = (uint8_t)(k * 13);
	append_one(s, 0);
	cr_assert_eq(spool_append(s, big, SPOOL_RECORD_MAX), 0);
	append_one(s, 2);
	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 3);
	cr_assert_eq(file_size(names[1]), 20 + SPOOL_RECORD_MAX);
	free_names(names, n);
	cr_assert_eq(spool_peek(s, recs, 10, 1000), 1);
	cr_assert_eq(spool_peek(s, recs, 10, 2000), 1, "the big one would pass max_bytes");
	cr_assert_eq(spool_consume(s, 1), 0);
	cr_assert_eq(spool_peek(s, recs, 10, 1000), 1, "alone, it comes back whole");
	cr_assert_eq(recs[0].len, SPOOL_RECORD_MAX);
	cr_assert_eq(memcmp(recs[0].data, big, SPOOL_RECORD_MAX), 0);
	spool_close(s);
	free(big);
}

Test(spool, a_lower_cap_at_reopen_drops_the_oldest_segments_on_the_next_append)
{
	struct spool *s = open_spool(1u << 20, SPOOL_DROP_OLDEST);
	append_range(s, 0, 2000); /* about 440 KB */
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_gt(stats(s).bytes, SPOOL_MIN_BYTES, "what is there stays until the next append");
	append_one(s, 2000);
	struct spool_stats st = stats(s);
	cr_assert_leq(st.bytes, SPOOL_MIN_BYTES);
	cr_assert_eq(st.pending + st.dropped, 2001);
	expect_pending(s, 2001 - st.pending + 1, (unsigned)(2001 - st.pending), (int)st.pending);
	spool_close(s);
}

Test(spool, a_second_open_of_the_same_dir_is_refused_naming_the_dir)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	struct spool_config c = {.dir = sdir, .max_bytes = SPOOL_MIN_BYTES};
	struct spool *t = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &t, err, sizeof(err)), -EBUSY);
	cr_assert_null(t);
	cr_assert(strstr(err, sdir) != NULL, "%s", err);
	cr_assert(strstr(err, "in use") != NULL, "%s", err);
	spool_close(s);
	cr_assert_eq(spool_open(&c, &t, err, sizeof(err)), 0, "%s", err);
	spool_close(t);
}

Test(spool, a_dir_that_is_a_regular_file_is_refused)
{
	FILE *f = fopen(sdir, "w");
	cr_assert_not_null(f);
	fclose(f);
	struct spool_config c = {.dir = sdir, .max_bytes = SPOOL_MIN_BYTES};
	struct spool *s = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -ENOTDIR);
	cr_assert_null(s);
	char want[160];
	snprintf(want, sizeof(want), "spool %s: not a directory", sdir);
	cr_assert_str_eq(err, want);
}

Test(spool, a_dir_that_cannot_be_created_is_refused_with_the_reason)
{
	char file[96], under[128];
	snprintf(file, sizeof(file), "%s/plain", dir);
	snprintf(under, sizeof(under), "%s/spool", file);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	struct spool_config c = {.dir = under, .max_bytes = SPOOL_MIN_BYTES};
	struct spool *s = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -ENOTDIR);
	cr_assert(strstr(err, under) != NULL, "%s", err);
	cr_assert(strstr(err, "cannot create") != NULL, "%s", err);
	snprintf(under, sizeof(under), "%s/missing/spool", dir);
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -ENOENT, "the parent must exist");
}

Test(spool, a_bad_config_is_refused)
{
	struct spool_config c = {.dir = sdir, .max_bytes = SPOOL_MIN_BYTES - 1};
	struct spool *s = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "max_bytes") != NULL, "%s", err);
	c.max_bytes = SPOOL_MIN_BYTES;
	c.when_full = (enum spool_when_full)7;
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -EINVAL);
	c.dir = "";
	c.when_full = SPOOL_DROP_OLDEST;
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), -EINVAL);
	cr_assert_null(s);
	spool_close(NULL);
}

Test(spool, a_new_dir_is_made_private)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	struct stat st;
	cr_assert_eq(stat(sdir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	spool_close(s);
}

/* Appends record i with writes limited to limit bytes per file (SIGXFSZ
 * ignored, so the write fails with EFBIG), then puts both back. */
static int append_limited(struct spool *s, unsigned i, rlim_t limit)
{
	struct rlimit old, lim;
	uint8_t buf[512];
	size_t len = payload(i, buf);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = limit;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = spool_append(s, buf, len);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	return rc;
}

Test(spool, a_write_failing_halfway_leaves_the_spool_as_it_was)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 5);
	struct spool_stats before = stats(s);
	int rc = append_limited(s, 5, (rlim_t)before.bytes + 10);
	cr_assert_eq(rc, -EFBIG, "append: %d", rc);
	struct spool_stats st = stats(s);
	cr_assert_eq(st.bytes, before.bytes);
	cr_assert_eq(st.pending, 5);
	cr_assert_eq(st.appended, 5);
	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(bytes, before.bytes, "the 10 bytes written are truncated away");
	free_names(names, n);
	expect_pending(s, 1, 0, 5);
	append_one(s, 6);
	spool_close(s);

	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 0);
	cr_assert_eq(peek_all(s), 6);
	cr_assert_eq(recs[5].seq, 6, "the failed record took no seq");
	cr_assert(is_payload(&recs[5], 6));
	spool_close(s);
}

Test(spool, a_write_failing_in_a_new_segment_leaves_no_file_behind)
{
	const unsigned big = 227; /* payload(227) is the longest, 419 bytes */
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	unsigned i = 0;
	size_t n;
	uint64_t bytes, tail = 0;
	char **names;
	/* fill the tail until the big record needs a new segment (8 KiB each) */
	while (tail + 20 + 419 <= SPOOL_MIN_BYTES / 8 && i < 1000) {
		append_one(s, i++);
		names = seg_files(&n, &bytes);
		tail = file_size(names[n - 1]);
		free_names(names, n);
	}
	size_t nbefore = n;
	struct spool_stats before = stats(s);
	int rc = append_limited(s, big, 10);
	cr_assert_eq(rc, -EFBIG, "append: %d", rc);
	names = seg_files(&n, &bytes);
	free_names(names, n);
	cr_assert_eq(n, nbefore, "the new segment is removed");
	cr_assert_eq(bytes, before.bytes);
	cr_assert_eq(stats(s).bytes, before.bytes);
	cr_assert_eq(stats(s).pending, before.pending);
	append_one(s, i);
	expect_pending(s, 1, 0, (int)i + 1);
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 0);
	expect_pending(s, 1, 0, (int)i + 1);
	spool_close(s);
}

Test(spool, the_stats_match_the_files_on_disk)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	size_t n;
	uint64_t bytes;
	char **names;
	for (unsigned round = 0; round < 6; round++) {
		append_range(s, round * 70, round * 70 + 70);
		cr_assert_eq(spool_consume(s, round * 70 + 35), 0);
		struct spool_stats st = stats(s);
		names = seg_files(&n, &bytes);
		free_names(names, n);
		cr_assert_eq(st.bytes, bytes, "round %u: %lu vs %lu on disk", round, (unsigned long)st.bytes,
			     (unsigned long)bytes);
		cr_assert_eq(st.appended, (round + 1) * 70);
		cr_assert_eq(st.pending + st.consumed + st.dropped, st.appended);
		cr_assert_eq(st.pending, (uint64_t)peek_all(s));
	}
	struct spool_stats st = stats(s);
	cr_assert_eq(st.dropped, 0);
	cr_assert_eq(st.consumed, 6 * 70 - 35);
	cr_assert_eq(st.pending, 35);
	cr_assert_eq(st.corrupt, 0);
	spool_close(s);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	st = stats(s);
	cr_assert_eq(st.pending, 35);
	cr_assert_eq(st.appended + st.consumed + st.dropped, 0, "counted since open");
	names = seg_files(&n, &bytes);
	free_names(names, n);
	cr_assert_eq(st.bytes, bytes);
	spool_close(s);
}

Test(spool, the_files_are_as_documented)
{
	struct spool_config c = {.dir = sdir, .max_bytes = SPOOL_MIN_BYTES, .fsync = true};
	struct spool *s = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), 0, "%s", err);
	append_range(s, 0, 3);
	cr_assert_eq(spool_sync(s), 0);
	cr_assert_eq(spool_consume(s, 1), 0);

	size_t n;
	uint64_t bytes;
	char **names = seg_files(&n, &bytes);
	cr_assert_eq(n, 1);
	char want[128];
	snprintf(want, sizeof(want), "%s/0000000000000001.seg", sdir);
	cr_assert_str_eq(names[0], want);
	FILE *f = fopen(names[0], "rb");
	cr_assert_not_null(f);
	uint8_t rec[20 + 512];
	for (unsigned i = 0; i < 3; i++) {
		uint8_t buf[512];
		size_t len = payload(i, buf);
		cr_assert_eq(fread(rec, 1, 20 + len, f), 20 + len);
		cr_assert_eq(memcmp(rec, "SPR1", 4), 0);
		cr_assert_eq(le32(rec + 4), len);
		cr_assert_eq(le64(rec + 8), i + 1);
		cr_assert_eq(le32(rec + 16), crc32_ref(crc32_ref(0, rec + 4, 12), rec + 20, len));
		cr_assert_eq(memcmp(rec + 20, buf, len), 0);
	}
	cr_assert_eq(fread(rec, 1, 1, f), 0);
	fclose(f);
	free_names(names, n);

	char path[128];
	uint8_t cf[32];
	snprintf(path, sizeof(path), "%s/consumed", sdir);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(cf, 1, sizeof(cf), f), 16);
	fclose(f);
	cr_assert_eq(memcmp(cf, "SPC1", 4), 0);
	cr_assert_eq(le64(cf + 8), 1);
	cr_assert_eq(le32(cf + 4), crc32_ref(0, cf + 8, 8));
	snprintf(path, sizeof(path), "%s/consumed.tmp", sdir);
	cr_assert_neq(access(path, F_OK), 0, "the temporary file is renamed");
	snprintf(path, sizeof(path), "%s/lock", sdir);
	cr_assert_eq(access(path, F_OK), 0);
	spool_close(s);
}

Test(spool, a_damaged_consumed_file_delivers_everything_again)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	append_range(s, 0, 10);
	cr_assert_eq(spool_consume(s, 4), 0);
	spool_close(s);
	char path[128];
	snprintf(path, sizeof(path), "%s/consumed", sdir);
	poke(path, 9, "\xff", 1);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	cr_assert_eq(stats(s).corrupt, 1);
	expect_pending(s, 1, 0, 10);
	spool_close(s);
}

Test(spool, other_files_in_the_dir_are_left_alone)
{
	struct spool *s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	spool_close(s);
	const char *others[] = {"notes.txt", "123.seg", "000000000000000G.seg", "0000000000000000.seg"};
	for (size_t i = 0; i < 4; i++) {
		char path[160];
		snprintf(path, sizeof(path), "%s/%s", sdir, others[i]);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs("hello", f);
		fclose(f);
	}
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/00000000000000ff.seg", sdir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	s = open_spool(SPOOL_MIN_BYTES, SPOOL_DROP_OLDEST);
	struct spool_stats st = stats(s);
	cr_assert_eq(st.pending, 0);
	cr_assert_eq(st.corrupt, 0);
	cr_assert_eq(st.bytes, 0);
	append_range(s, 0, 3);
	expect_pending(s, 1, 0, 3);
	cr_assert_eq(spool_consume(s, 3), 0);
	spool_close(s);
	for (size_t i = 0; i < 4; i++) {
		char path[160];
		snprintf(path, sizeof(path), "%s/%s", sdir, others[i]);
		cr_assert_eq(file_size(path), 5, "%s", others[i]);
	}
}

Test(spool, fsync_mode_keeps_the_same_records)
{
	struct spool_config c = {.dir = sdir, .max_bytes = SPOOL_MIN_BYTES, .fsync = true};
	struct spool *s = NULL;
	char err[256];
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), 0, "%s", err);
	append_range(s, 0, 200);
	cr_assert_eq(spool_sync(s), 0);
	cr_assert_eq(spool_consume(s, 50), 0);
	spool_close(s);
	cr_assert_eq(spool_open(&c, &s, err, sizeof(err)), 0, "%s", err);
	expect_pending(s, 51, 50, 150);
	spool_close(s);
}
