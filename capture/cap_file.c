/*
 * cap_file — pcap and pcapng files through libpcap.
 *
 * libpcap streams the file record by record, so a capture of any size costs
 * one packet buffer. Its messages are reworded where a person would not
 * recognise the cause ("truncated dump file; tried to read 4 file header
 * bytes, only got 0" means the file is empty).
 *
 * The file is read through a 256 KiB stdio buffer rather than libpcap's
 * default (BUFSIZ): each record is then a copy out of a buffer that stays in
 * the L2 cache instead of one read() per few packets, which makes reading
 * four times faster (bench/run.sh shows both).
 *
 * Timestamps are taken as the formats define them, not as libpcap hands
 * them over. A classic pcap record holds unsigned 32-bit seconds and
 * fraction; libpcap reads both as signed, so every time from 2038-01-19 on
 * (and a fraction of 2^31 or more) came out negative and wrapped to the year
 * 586524. The seconds and fraction are taken back as unsigned, and a
 * nanosecond file is read at its own precision, since libpcap's scaling to
 * microseconds divides the signed value. A pcapng time can be anything
 * (a 64-bit count, any resolution, a signed offset): a time before 1970 is
 * read as 1970, one after 9999 as the last microsecond of 9999, the latest
 * time the pipeline's arithmetic and its four-digit years are made for.
 * A fraction of a second or more is carried into the seconds.
 * (pcaps/malformed holds a file for each of these.)
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/cap_impl.h"
#include "features/decode.h"

#define FILE_READ_BUFFER (256u * 1024u)
/* 9999-12-31T23:59:59.999999Z: see the top of the file. */
#define FILE_TS_MAX_US 253402300799999999ull

struct file_impl {
	pcap_t *pcap;
	char *buf;            /* stdio buffer of the file libpcap reads; freed after it */
	char *path;
	uint64_t size;
	uint64_t count;
	bool classic;         /* a classic pcap file, not pcapng */
	bool nsec;            /* a classic pcap file with nanosecond fractions */
};

/* Capture time in microseconds from what libpcap made of the record's. */
static uint64_t file_ts(const struct file_impl *f, const struct timeval *tv)
{
	/* Classic: the record's unsigned fields, which libpcap sign-extended. */
	int64_t sec = f->classic ? (int64_t)(uint32_t)tv->tv_sec : (int64_t)tv->tv_sec;
	uint64_t frac = f->classic ? (uint32_t)tv->tv_usec : (uint64_t)tv->tv_usec;
	if (f->nsec)
		frac /= 1000u;
	if (sec < 0)
		return 0;
	if ((uint64_t)sec > FILE_TS_MAX_US / 1000000u)
		return FILE_TS_MAX_US;
	uint64_t us = (uint64_t)sec * 1000000u;
	return frac < FILE_TS_MAX_US - us ? us + frac : FILE_TS_MAX_US;
}

/* The file's first four bytes, read with pread, which leaves the stream
 * where it is. False when there are fewer, or on a pipe (which is then read
 * at microsecond precision, and its damage worded by libpcap). */
static bool read_magic(FILE *fp, uint8_t m[4])
{
	return pread(fileno(fp), m, 4, 0) == 4;
}

static bool magic_is(const uint8_t m[4], uint32_t magic)
{
	uint32_t le = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	return le == magic || __builtin_bswap32(le) == magic;
}

/* The bytes a capture with this magic needs before its first record: the
 * pcap file header, or a pcapng section header with no options; 0 when it
 * is no capture magic. libpcap calls a shorter file of either an "unknown
 * file format", or reports how many bytes of which read it missed. */
static uint64_t header_bytes(const uint8_t m[4])
{
	if (magic_is(m, 0xa1b2c3d4u) || magic_is(m, 0xa1b23c4du) || magic_is(m, 0xa1b2cd34u))
		return 24;
	return magic_is(m, 0x0a0d0d0au) ? 28 : 0;
}

static enum cap_status file_next(struct cap_source *s, struct cap_packet *p)
{
	struct file_impl *f = s->impl;
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(f->pcap, &h, &data);
	if (rc == 1) {
		f->count++;
		p->ts_us = file_ts(f, &h->ts);
		p->caplen = h->caplen;
		p->wirelen = h->len;
		p->data = data;
		p->summary = false;
		p->packets = 1;
		return CAP_PACKET;
	}
	if (rc == PCAP_ERROR_BREAK)
		return CAP_END;
	snprintf(s->err, sizeof(s->err), "%s: packet %llu: %s", f->path, (unsigned long long)f->count + 1,
		 pcap_geterr(f->pcap));
	return CAP_ERROR;
}

static void file_progress(const struct cap_source *s, uint64_t *done, uint64_t *total)
{
	const struct file_impl *f = s->impl;
	FILE *fp = pcap_file(f->pcap);
	long pos = fp ? ftell(fp) : -1;
	*done = pos > 0 ? (uint64_t)pos : 0;
	*total = f->size;
}

static void file_close(struct cap_source *s)
{
	struct file_impl *f = s->impl;
	if (f) {
		if (f->pcap)
			pcap_close(f->pcap);
		free(f->buf);
		free(f->path);
		free(f);
	}
	free(s);
}

static const struct cap_ops file_ops = {
	.name = "file",
	.next = file_next,
	.progress = file_progress,
	.close = file_close,
};

struct cap_source *cap_open_file(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	struct cap_source *s = NULL;
	struct file_impl *f = NULL;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a capture file", path);
		return NULL;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) {
		snprintf(err, errlen, "%s: empty file, not a capture", path);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	f = calloc(1, sizeof(*f));
	if (!s || !f) {
		free(s);
		free(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->ops = &file_ops;
	s->impl = f;
	if (!(f->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	f->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	f->buf = malloc(FILE_READ_BUFFER);
	if (f->buf)
		setvbuf(fp, f->buf, _IOFBF, FILE_READ_BUFFER);
	/* A hint only: it fails on a pipe, which is fine. */
	(void)posix_fadvise(fileno(fp), 0, 0, POSIX_FADV_SEQUENTIAL);
	uint8_t magic[4] = {0};
	bool have_magic = read_magic(fp, magic);
	f->nsec = have_magic && magic_is(magic, 0xa1b23c4du);
	f->pcap = pcap_fopen_offline_with_tstamp_precision(
		fp, f->nsec ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!f->pcap) {
		fclose(fp);
		bool cut = strstr(perr, "truncated dump file") || strstr(perr, "truncated pcapng") ||
			   (have_magic && f->size < header_bytes(magic));
		if (cut && f->size)
			snprintf(err, errlen, "%s: truncated file header: the file ends after %llu byte%s", path,
				 (unsigned long long)f->size, f->size == 1 ? "" : "s");
		else if (cut)
			snprintf(err, errlen, "%s: truncated file header (%s)", path, perr);
		else if (strstr(perr, "unknown file format"))
			snprintf(err, errlen, "%s: not a pcap or pcapng file", path);
		else
			snprintf(err, errlen, "%s: %s", path, perr);
		goto fail;
	}
	/* libpcap reports a pcapng section's version, which is 1; classic is 2. */
	f->classic = pcap_major_version(f->pcap) != 1;
	s->linktype = pcap_datalink(f->pcap);
	if (!dec_linktype_supported(s->linktype)) {
		const char *n = pcap_datalink_val_to_name(s->linktype);
		snprintf(err, errlen, "%s: unsupported link type %d (%s)", path, s->linktype, n ? n : "unknown");
		goto fail;
	}
	return s;
fail:
	file_close(s);
	return NULL;
}
