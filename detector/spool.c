/*
 * spool — an on-disk FIFO of records for the publisher (spool.h).
 *
 * On disk, in DIR:
 *
 *   lock                 empty; flock(LOCK_EX | LOCK_NB) held while open
 *   consumed             16 bytes, little-endian:
 *                          u32 magic "SPC1" | u32 crc32(seq bytes) | u64 seq
 *                        the last seq delivered; replaced whole through
 *                        consumed.tmp + rename, so it is old or new, never torn
 *   <16 hex digits>.seg  a segment: records back to back, no file header; the
 *                        name is the seq the segment was started for, and
 *                        every record in it has a seq at least that
 *
 *   a record:  0        4        8                16       20
 *              +--------+--------+----------------+--------+------------+
 *              | magic  | len    | seq            | crc    | payload    |
 *              | "SPR1" | u32    | u64            | u32    | len bytes  |
 *              +--------+--------+----------------+--------+------------+
 *              crc is CRC-32 (IEEE, as zlib) over bytes 4..16 then the payload.
 *
 * Each record is written with one pwrite of header and payload from one
 * buffer, so a crash leaves at most one torn record, at the end of the
 * newest segment. Open scans every record: a bad one (magic, a length past
 * the file or over SPOOL_RECORD_MAX, crc, a seq not above the one before or
 * below the segment's name) ends its segment; in the newest segment the file
 * is truncated there, in an older one the rest is skipped (left on disk,
 * counted in bytes, never read). Each counts 1 in corrupt. Files with other
 * names are left alone.
 *
 * Seqs are never reused, across restarts too: the next seq is above every
 * record seen, the consumed seq, and every segment name less one. When the
 * spool empties, consumed is first written as the newest seq, and only then
 * are the segments deleted; a segment replacing a full tail under
 * SPOOL_DROP_OLDEST is created before the old one is deleted.
 *
 * A new segment starts when the tail would pass max(max_bytes / 8, 4096)
 * bytes, so SPOOL_DROP_OLDEST frees about an eighth of the cap at a time
 * and one segment (at most) is ever partly consumed. In memory: one small
 * entry per segment (name, last seq, records, valid end, size), the read
 * position in the oldest one, and the buffer of the last peek. Records are
 * read from the files each time, never held.
 *
 * Rejected: a single file with a head offset (space comes back only by
 * rewriting it); SQLite (the store's, but a write per alert while Redis is
 * down, and the cap would be in pages, not bytes); mmap (a truncated or
 * failing file turns into SIGBUS instead of an errno).
 */
#include "detector/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define REC_MAGIC 0x31525053u      /* "SPR1" as little-endian bytes */
#define REC_HDR 20u
#define CONSUMED_MAGIC 0x31435053u /* "SPC1" */
#define CONSUMED_LEN 16u
#define SEG_NAME_LEN 20u           /* 16 hex digits and ".seg" */
#define SEG_MIN 4096u              /* smallest segment worth a file */
/* Seqs and names at or past this are damage: it keeps next_seq from
 * wrapping (2^63 alerts is far beyond any lifetime). */
#define SEQ_LIMIT (UINT64_C(1) << 63)
#define WBUF_KEEP (64u * 1024)     /* a larger write buffer is freed after its record */

struct seg {
	uint64_t name;  /* the file is <name as %016x>.seg */
	uint64_t last;  /* seq of its last valid record; 0 when none */
	uint64_t count; /* valid records */
	uint64_t end;   /* where the valid records end */
	uint64_t size;  /* bytes of the file (past end: damage, skipped) */
};

struct spool {
	struct spool_config cfg;
	char *dir;
	int dirfd, lockfd;
	int wfd;            /* the newest segment, open to append; -1: the next append starts one */
	int rfd;            /* an older segment being read, or -1 */
	uint64_t rfd_name;
	struct seg *segs;   /* oldest first */
	size_t nseg, segcap;
	uint64_t head_off;  /* in segs[0]: the first unconsumed record */
	uint64_t head_done; /* in segs[0]: records before head_off */
	uint64_t consumed;  /* as the consumed file says */
	uint64_t next_seq;
	uint64_t seg_max;
	bool tail_dirty;    /* written since the last fdatasync */
	bool dir_dirty;     /* a segment created or deleted since the last directory fsync */
	uint8_t *buf;       /* payloads of the last peek */
	size_t bufcap;
	uint8_t *wbuf;      /* one record being appended */
	size_t wbufcap;
	struct spool_stats st;
};

struct rec_hdr {
	uint32_t len, crc;
	uint64_t seq;
};

/* CRC-32 (reflected 0xEDB88320, as zlib), four bits at a time: a
 * 16-entry table, small enough to write out, fast enough for alerts. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Bytes read (fewer only at the end of the file), or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* 0, or -errno (part of buf may be written then). */
static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int fail(char *err, size_t errlen, int rc, const char *dir, const char *file, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "spool %s%s%s: %s", dir, file ? "/" : "", file ? file : "", why);
	return rc;
}

static void seg_file(uint64_t name, char out[SEG_NAME_LEN + 1])
{
	snprintf(out, SEG_NAME_LEN + 1, "%016" PRIx64 ".seg", name);
}

/* The seq a segment file is named for; false for any other name. */
static bool seg_name_parse(const char *s, uint64_t *name)
{
	uint64_t v = 0;
	if (strlen(s) != SEG_NAME_LEN || strcmp(s + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (v == 0 || v >= SEQ_LIMIT)
		return false;
	*name = v;
	return true;
}

/* Room for need bytes of payload; grows at most to what this peek asked for
 * (bound) or one record past it. */
static int buf_reserve(struct spool *s, size_t need, size_t bound)
{
	if (need <= s->bufcap)
		return 0;
	size_t cap = s->bufcap < 4096 ? 4096 : s->bufcap * 2;
	if (bound < need)
		bound = need;
	if (cap > bound)
		cap = bound;
	if (cap < need)
		cap = need;
	uint8_t *p = realloc(s->buf, cap);
	if (!p)
		return -ENOMEM;
	s->buf = p;
	s->bufcap = cap;
	return 0;
}

/* Reads the header at off. 1 when it is a plausible record that ends by
 * end, 0 when not (damage), or -errno. */
static int read_hdr(int fd, uint64_t off, uint64_t end, struct rec_hdr *h)
{
	uint8_t b[REC_HDR];
	if (off > end || end - off < REC_HDR)
		return 0;
	ssize_t n = pread_full(fd, b, REC_HDR, off);
	if (n < 0)
		return (int)n;
	if ((size_t)n < REC_HDR || get32(b) != REC_MAGIC)
		return 0;
	h->len = get32(b + 4);
	h->seq = get64(b + 8);
	h->crc = get32(b + 16);
	if (h->len > SPOOL_RECORD_MAX || h->len > end - off - REC_HDR || h->seq == 0 || h->seq >= SEQ_LIMIT)
		return 0;
	return 1;
}

/* Reads the payload after h (at off) into dst and checks the crc: 1 good,
 * 0 damage, or -errno. */
static int read_payload(int fd, uint64_t off, const struct rec_hdr *h, uint8_t *dst)
{
	uint8_t b[12];
	ssize_t n = pread_full(fd, dst, h->len, off + REC_HDR);
	if (n < 0)
		return (int)n;
	if ((size_t)n < h->len)
		return 0;
	put32(b, h->len);
	put64(b + 4, h->seq);
	return crc32_update(crc32_update(0, b, 12), dst, h->len) == h->crc;
}

/* The fd to read segs[i] through: the tail's own, or rfd (reopened when it
 * belongs to another segment). */
static int seg_fd(struct spool *s, size_t i)
{
	char name[SEG_NAME_LEN + 1];
	if (i == s->nseg - 1 && s->wfd >= 0)
		return s->wfd;
	if (s->rfd >= 0 && s->rfd_name == s->segs[i].name)
		return s->rfd;
	if (s->rfd >= 0)
		close(s->rfd);
	seg_file(s->segs[i].name, name);
	s->rfd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (s->rfd < 0)
		return -errno;
	s->rfd_name = s->segs[i].name;
	return s->rfd;
}

/* Deletes segs[i] and its file. 0 or -errno (then nothing changed). */
static int seg_remove(struct spool *s, size_t i)
{
	char name[SEG_NAME_LEN + 1];
	seg_file(s->segs[i].name, name);
	if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
		return -errno;
	if (s->rfd >= 0 && s->rfd_name == s->segs[i].name) {
		close(s->rfd);
		s->rfd = -1;
	}
	if (i == s->nseg - 1 && s->wfd >= 0) {
		close(s->wfd);
		s->wfd = -1;
		s->tail_dirty = false;
	}
	s->st.bytes -= s->segs[i].size;
	memmove(&s->segs[i], &s->segs[i + 1], (s->nseg - i - 1) * sizeof(s->segs[0]));
	s->nseg--;
	if (i == 0)
		s->head_off = s->head_done = 0;
	s->dir_dirty = true;
	return 0;
}

static int seg_push(struct spool *s, uint64_t name)
{
	if (s->nseg == s->segcap) {
		size_t cap = s->segcap ? s->segcap * 2 : 16; /* 8-9 segments in steady state */
		struct seg *p = realloc(s->segs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->segs = p;
		s->segcap = cap;
	}
	s->segs[s->nseg++] = (struct seg){.name = name};
	return 0;
}

/* Damage found at off, the idx-th record of segs[i], after open: the rest of
 * the segment is given up (the tail is truncated there, so appends go on
 * after the good records). last is the seq of the record before, 0 when
 * unknown (then none of its records is pending). */
static void seg_cut(struct spool *s, size_t i, uint64_t off, uint64_t idx, uint64_t last)
{
	struct seg *g = &s->segs[i];
	s->st.pending -= g->count - idx;
	s->st.corrupt++;
	g->count = idx;
	g->end = off;
	g->last = last;
	if (i == s->nseg - 1 && s->wfd >= 0) {
		if (ftruncate(s->wfd, (off_t)off) == 0) {
			s->st.bytes -= g->size - off;
			g->size = off;
		} else {
			/* the damage stays on disk: never write after it */
			close(s->wfd);
			s->wfd = -1;
		}
	}
}

static int write_consumed(struct spool *s, uint64_t seq)
{
	uint8_t b[CONSUMED_LEN];
	put32(b, CONSUMED_MAGIC);
	put64(b + 8, seq);
	put32(b + 4, crc32_update(0, b + 8, 8));
	int fd = openat(s->dirfd, "consumed.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int rc = pwrite_full(fd, b, sizeof(b), 0);
	if (rc == 0 && s->cfg.fsync && fdatasync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(s->dirfd, "consumed.tmp", s->dirfd, "consumed") != 0)
		rc = -errno;
	if (rc == 0 && s->cfg.fsync && fsync(s->dirfd) != 0)
		rc = -errno;
	if (rc)
		unlinkat(s->dirfd, "consumed.tmp", 0);
	return rc;
}

/* Moves the read position past every record with seq <= through, deleting
 * each segment wholly consumed (the tail too once nothing is pending). The
 * records passed count in stats.consumed when count is set. 0 or -errno. */
static int advance(struct spool *s, uint64_t through, bool count)
{
	while (s->nseg > 0) {
		struct seg *g = &s->segs[0];
		if (s->head_done < g->count && g->last <= through) {
			uint64_t n = g->count - s->head_done;
			s->st.pending -= n;
			s->st.consumed += count ? n : 0;
			s->head_done = g->count;
			s->head_off = g->end;
		}
		uint64_t prev = 0;
		while (s->head_done < g->count) {
			struct rec_hdr h;
			int fd = seg_fd(s, 0);
			if (fd < 0)
				return fd;
			int rc = read_hdr(fd, s->head_off, g->end, &h);
			if (rc < 0)
				return rc;
			if (rc == 0 || h.seq <= prev || h.seq < g->name || h.seq > g->last) {
				seg_cut(s, 0, s->head_off, s->head_done, prev);
				break;
			}
			if (h.seq > through)
				return 0;
			s->head_off += REC_HDR + h.len;
			s->head_done++;
			s->st.pending--;
			s->st.consumed += count ? 1 : 0;
			prev = h.seq;
		}
		if (s->nseg == 1 && s->consumed < s->next_seq - 1) {
			/* nothing is pending and the last segment goes: the consumed
			 * file must keep the seqs from being handed out again */
			int rc = write_consumed(s, s->next_seq - 1);
			if (rc)
				return rc;
			s->consumed = s->next_seq - 1;
		}
		int rc = seg_remove(s, 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* The seq of the newest pending record; call only when one is pending. */
static uint64_t last_pending(const struct spool *s)
{
	for (size_t i = s->nseg; i-- > 0;)
		if (s->segs[i].count > (i == 0 ? s->head_done : 0))
			return s->segs[i].last;
	return 0;
}

/* Marks through (taken as the newest seq when past it) as delivered. When
 * that leaves nothing pending, the newest seq is what gets written, so the
 * seqs stay above it once the segments are gone. */
static int mark(struct spool *s, uint64_t through, bool count)
{
	uint64_t newest = s->next_seq - 1;
	if (through > newest)
		through = newest;
	uint64_t c = through;
	if (s->st.pending == 0 || through >= last_pending(s))
		c = newest;
	if (c > s->consumed) {
		int rc = write_consumed(s, c);
		if (rc)
			return rc;
		s->consumed = c;
	}
	return advance(s, s->consumed, count);
}

static int read_consumed(struct spool *s, char *err, size_t errlen)
{
	uint8_t b[CONSUMED_LEN + 1];
	int fd = openat(s->dirfd, "consumed", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(err, errlen, -errno, s->dir, "consumed", strerror(errno));
	}
	ssize_t n = pread_full(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0)
		return fail(err, errlen, (int)n, s->dir, "consumed", strerror((int)-n));
	uint64_t seq = get64(b + 8);
	if ((size_t)n != CONSUMED_LEN || get32(b) != CONSUMED_MAGIC || get32(b + 4) != crc32_update(0, b + 8, 8) ||
	    seq >= SEQ_LIMIT) {
		/* everything still on disk is delivered again: at least once */
		s->st.corrupt++;
		return 0;
	}
	s->consumed = seq;
	return 0;
}

/* Checks every record of segs[i] (open as fd), above *prev and its name.
 * At the first bad one the segment ends: truncated there when it is the
 * newest (a torn tail), else the rest is skipped. */
static int scan_seg(struct spool *s, size_t i, int fd, uint64_t *prev, char *err, size_t errlen)
{
	char name[SEG_NAME_LEN + 1];
	struct seg *g = &s->segs[i];
	struct stat st;
	uint64_t off = 0;
	int rc;
	seg_file(g->name, name);
	if (fstat(fd, &st) != 0)
		return fail(err, errlen, -errno, s->dir, name, strerror(errno));
	g->size = (uint64_t)st.st_size;
	while (off < g->size) {
		struct rec_hdr h;
		rc = read_hdr(fd, off, g->size, &h);
		if (rc < 0)
			return fail(err, errlen, rc, s->dir, name, strerror(-rc));
		if (rc == 0 || h.seq <= *prev || h.seq < g->name)
			break;
		rc = buf_reserve(s, h.len, SPOOL_RECORD_MAX);
		if (rc)
			return fail(err, errlen, rc, s->dir, name, strerror(-rc));
		rc = read_payload(fd, off, &h, s->buf);
		if (rc < 0)
			return fail(err, errlen, rc, s->dir, name, strerror(-rc));
		if (rc == 0)
			break;
		g->count++;
		g->last = *prev = h.seq;
		off += REC_HDR + h.len;
	}
	g->end = off;
	if (off < g->size) {
		s->st.corrupt++;
		if (i == s->nseg - 1) {
			if (ftruncate(fd, (off_t)off) != 0)
				return fail(err, errlen, -errno, s->dir, name, strerror(errno));
			g->size = off;
		}
	}
	s->st.bytes += g->size;
	s->st.pending += g->count;
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct seg *)a)->name, y = ((const struct seg *)b)->name;
	return x < y ? -1 : x > y;
}

/* Lists and checks the segments, works out the next seq, and drops what
 * the consumed file says was delivered. */
static int recover(struct spool *s, char *err, size_t errlen)
{
	DIR *d = NULL;
	struct dirent *e;
	uint64_t prev = 0, max_name = 0;
	int rc = 0;
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = fail(err, errlen, -errno, s->dir, NULL, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
		struct stat st;
		uint64_t name;
		if (!seg_name_parse(e->d_name, &name))
			continue;
		if (fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue; /* not ours */
		if ((rc = seg_push(s, name)) != 0) {
			rc = fail(err, errlen, rc, s->dir, NULL, strerror(-rc));
			goto out;
		}
	}
	if (errno != 0) {
		rc = fail(err, errlen, -errno, s->dir, NULL, strerror(errno));
		goto out;
	}
	if (s->nseg > 0)
		qsort(s->segs, s->nseg, sizeof(s->segs[0]), seg_cmp);
	for (size_t i = 0; i < s->nseg; i++) {
		char name[SEG_NAME_LEN + 1];
		bool newest = i == s->nseg - 1;
		seg_file(s->segs[i].name, name);
		fd = openat(s->dirfd, name, (newest ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = fail(err, errlen, -errno, s->dir, name, strerror(errno));
			goto out;
		}
		rc = scan_seg(s, i, fd, &prev, err, errlen);
		if (newest && rc == 0)
			s->wfd = fd; /* valid to its end now: appends go on here */
		else
			close(fd);
		if (rc)
			goto out;
		max_name = s->segs[i].name;
	}
	s->next_seq = prev > s->consumed ? prev : s->consumed;
	if (max_name > 0 && max_name - 1 > s->next_seq)
		s->next_seq = max_name - 1;
	s->next_seq++;
	if ((rc = mark(s, s->consumed, false)) != 0)
		rc = fail(err, errlen, rc, s->dir, NULL, strerror(-rc));
out:
	if (d)
		closedir(d);
	return rc;
}

static int sync_now(struct spool *s)
{
	if (!s->cfg.fsync)
		return 0;
	if (s->wfd >= 0 && s->tail_dirty) {
		if (fdatasync(s->wfd) != 0)
			return -errno;
		s->tail_dirty = false;
	}
	if (s->dir_dirty) {
		if (fsync(s->dirfd) != 0)
			return -errno;
		s->dir_dirty = false;
	}
	return 0;
}

static void destroy(struct spool *s)
{
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->segs);
	free(s->buf);
	free(s->wbuf);
	free(s->dir);
	free(s);
}

int spool_open(const struct spool_config *c, struct spool **out, char *err, size_t errlen)
{
	struct spool *s = NULL;
	char why[128];
	int rc;
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!c || !c->dir || !c->dir[0])
		return fail(err, errlen, -EINVAL, "", NULL, "no directory given");
	if (c->max_bytes < SPOOL_MIN_BYTES) {
		snprintf(why, sizeof(why), "max_bytes %" PRIu64 " is below the minimum %u", c->max_bytes,
			 SPOOL_MIN_BYTES);
		return fail(err, errlen, -EINVAL, c->dir, NULL, why);
	}
	if (c->when_full != SPOOL_DROP_OLDEST && c->when_full != SPOOL_DROP_NEWEST)
		return fail(err, errlen, -EINVAL, c->dir, NULL, "unknown when_full policy");
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(c->dir))) {
		free(s);
		return fail(err, errlen, -ENOMEM, c->dir, NULL, strerror(ENOMEM));
	}
	s->cfg = *c;
	s->cfg.dir = s->dir;
	s->dirfd = s->lockfd = s->wfd = s->rfd = -1;
	s->seg_max = c->max_bytes / 8 > SEG_MIN ? c->max_bytes / 8 : SEG_MIN;
	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(why, sizeof(why), "cannot create: %s", strerror(-rc));
		rc = fail(err, errlen, rc, s->dir, NULL, why);
		goto out;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = fail(err, errlen, -errno, s->dir, NULL, errno == ENOTDIR ? "not a directory" : strerror(errno));
		goto out;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		rc = fail(err, errlen, -errno, s->dir, "lock", strerror(errno));
		goto out;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? fail(err, errlen, -EBUSY, s->dir, NULL, "in use by another process")
					  : fail(err, errlen, -errno, s->dir, "lock", strerror(errno));
		goto out;
	}
	if ((rc = read_consumed(s, err, errlen)) != 0)
		goto out;
	if ((rc = recover(s, err, errlen)) != 0)
		goto out;
	/* the scan's buffer may hold a whole large record: peeks grow their own */
	free(s->buf);
	s->buf = NULL;
	s->bufcap = 0;
	*out = s;
	s = NULL;
out:
	if (s)
		destroy(s);
	return rc;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	(void)sync_now(s); /* nobody to tell: callers wanting to know call spool_sync first */
	destroy(s);
}

/* Starts a new tail segment named for the next seq. The old tail is synced
 * first (when c->fsync): spool_sync reaches only the tail. */
static int rotate(struct spool *s)
{
	char name[SEG_NAME_LEN + 1];
	int rc;
	if (s->wfd >= 0 && s->tail_dirty && s->cfg.fsync && fdatasync(s->wfd) != 0)
		return -errno;
	if ((rc = seg_push(s, s->next_seq)) != 0)
		return rc;
	seg_file(s->next_seq, name);
	int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		s->nseg--;
		return -errno;
	}
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = fd;
	s->tail_dirty = false;
	s->dir_dirty = true;
	return 0;
}

int spool_append(struct spool *s, const void *data, size_t len)
{
	uint64_t r = REC_HDR + (uint64_t)len;
	bool rotated = false;
	int rc;
	if (len > SPOOL_RECORD_MAX || r > s->cfg.max_bytes) {
		s->st.dropped++;
		return -EMSGSIZE;
	}
	if (!data && len)
		return -EINVAL;
	if (s->next_seq >= SEQ_LIMIT)
		return -EOVERFLOW;
	if (s->cfg.when_full == SPOOL_DROP_NEWEST && s->st.bytes + r > s->cfg.max_bytes) {
		s->st.dropped++;
		return 1;
	}
	struct seg *t = s->nseg ? &s->segs[s->nseg - 1] : NULL;
	if (s->wfd < 0 || (t->size > 0 && t->size + r > s->seg_max)) {
		if ((rc = rotate(s)) != 0)
			return rc;
		rotated = true;
	}
	/* SPOOL_DROP_OLDEST (DROP_NEWEST returned above): make room first, so
	 * the cap holds even while writing */
	while (s->st.bytes + r > s->cfg.max_bytes) {
		if (s->nseg > 1) {
			uint64_t lost = s->segs[0].count - s->head_done;
			if ((rc = seg_remove(s, 0)) != 0)
				return rc;
			s->st.pending -= lost;
			s->st.dropped += lost;
		} else {
			/* the tail alone leaves no room: a new tail first, so its name
			 * keeps the seqs on disk, then the old one goes */
			if ((rc = rotate(s)) != 0)
				return rc;
			rotated = true;
		}
	}
	t = &s->segs[s->nseg - 1];
	if (r > s->wbufcap) {
		uint8_t *p = realloc(s->wbuf, r);
		if (!p)
			return -ENOMEM;
		s->wbuf = p;
		s->wbufcap = r;
	}
	put32(s->wbuf, REC_MAGIC);
	put32(s->wbuf + 4, (uint32_t)len);
	put64(s->wbuf + 8, s->next_seq);
	if (len)
		memcpy(s->wbuf + REC_HDR, data, len);
	put32(s->wbuf + 16, crc32_update(crc32_update(0, s->wbuf + 4, 12), s->wbuf + REC_HDR, len));
	rc = pwrite_full(s->wfd, s->wbuf, r, t->size);
	if (s->wbufcap > WBUF_KEEP) {
		free(s->wbuf);
		s->wbuf = NULL;
		s->wbufcap = 0;
	}
	if (rc) {
		if (ftruncate(s->wfd, (off_t)t->size) != 0) {
			/* a partial record stays past the end: never write after it */
			struct stat st;
			if (fstat(s->wfd, &st) == 0 && (uint64_t)st.st_size > t->size) {
				s->st.bytes += (uint64_t)st.st_size - t->size;
				t->size = (uint64_t)st.st_size;
			}
			close(s->wfd);
			s->wfd = -1;
		}
		/* an empty segment made for this record goes, unless it is the
		 * only one left (its name then keeps the seqs) */
		if (rotated && t->count == 0 && s->nseg > 1)
			(void)seg_remove(s, s->nseg - 1);
		return rc;
	}
	t->size += r;
	t->end = t->size;
	t->count++;
	t->last = s->next_seq++;
	s->st.bytes += r;
	s->st.pending++;
	s->st.appended++;
	s->tail_dirty = true;
	return 0;
}

int spool_sync(struct spool *s)
{
	return sync_now(s);
}

int spool_peek(struct spool *s, struct spool_record *recs, size_t max, size_t max_bytes)
{
	size_t n = 0, used = 0, i = 0;
	uint64_t off = s->head_off, idx = s->head_done, prev = 0, seg_prev = 0;
	if (max > 0 && !recs)
		return -EINVAL;
	if (max > INT32_MAX)
		max = INT32_MAX; /* the count is returned as an int */
	while (n < max && i < s->nseg) {
		struct seg *g = &s->segs[i];
		struct rec_hdr h;
		if (idx >= g->count) {
			i++;
			off = idx = seg_prev = 0;
			continue;
		}
		int fd = seg_fd(s, i);
		if (fd < 0)
			return fd;
		int rc = read_hdr(fd, off, g->end, &h);
		if (rc < 0)
			return rc;
		if (rc == 0 || h.seq <= prev || h.seq < g->name || h.seq > g->last) {
			seg_cut(s, i, off, idx, seg_prev);
			continue;
		}
		if (n > 0 && (h.len > max_bytes || used > max_bytes - h.len))
			break;
		if ((rc = buf_reserve(s, used + h.len, max_bytes)) != 0)
			return rc;
		rc = read_payload(fd, off, &h, s->buf + used);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			seg_cut(s, i, off, idx, seg_prev);
			continue;
		}
		recs[n].seq = h.seq;
		recs[n].len = h.len;
		n++;
		used += h.len;
		off += REC_HDR + h.len;
		idx++;
		prev = seg_prev = h.seq;
	}
	/* the buffer may have moved while it grew: point into it only now */
	used = 0;
	for (size_t k = 0; k < n; k++) {
		recs[k].data = s->buf ? (const void *)(s->buf + used) : (const void *)"";
		used += recs[k].len;
	}
	return (int)n;
}

int spool_consume(struct spool *s, uint64_t through)
{
	return mark(s, through, true);
}

void spool_stats(const struct spool *s, struct spool_stats *st)
{
	*st = s->st;
}
