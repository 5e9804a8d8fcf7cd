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
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "capture/cap_impl.h"
#include "features/decode.h"

#define FILE_READ_BUFFER (256u * 1024u)

struct file_impl {
	pcap_t *pcap;
	char *buf;            /* stdio buffer of the file libpcap reads; freed after it */
	char *path;
	uint64_t size;
	uint64_t count;
};

static enum cap_status file_next(struct cap_source *s, struct cap_packet *p)
{
	struct file_impl *f = s->impl;
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(f->pcap, &h, &data);
	if (rc == 1) {
		f->count++;
		p->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
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
	f->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!f->pcap) {
		fclose(fp);
		if (strstr(perr, "unknown file format"))
			snprintf(err, errlen, "%s: not a pcap or pcapng file", path);
		else if (strstr(perr, "truncated dump file") || strstr(perr, "truncated pcapng"))
			snprintf(err, errlen, "%s: truncated file header (%s)", path, perr);
		else
			snprintf(err, errlen, "%s: %s", path, perr);
		goto fail;
	}
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
