/*
 * cap_live — a live interface through libpcap (TPACKET_V3 ring on Linux).
 *
 * Opened with pcap_create/pcap_activate rather than pcap_open_live so that
 * the buffer size and immediate mode can be set, and so that each failure
 * comes back as its own code: a person is told "no such interface", "is
 * down" or "needs CAP_NET_RAW", not libpcap's generic text.
 *
 * cap_next waits at most the configured timeout and then returns CAP_IDLE,
 * so the caller gets control back a few times a second to notice signals
 * and print its stats line even on a silent LAN. The handle is non-blocking
 * and the wait is our own poll(): with TPACKET_V3 in immediate mode,
 * libpcap's blocking read ignores its timeout on an idle interface and
 * would never return to see a SIGTERM. Timestamps are the
 * kernel's, in microseconds since the epoch, as a file's are, so a live run
 * and a replay of the same traffic see the same times.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/cap_impl.h"

struct live_impl {
	pcap_t *pcap;
	int fd;               /* pcap's selectable descriptor */
	uint32_t timeout_ms;
	char iface[IF_NAMESIZE];
	uint64_t count;
	bool stopping;        /* hand over what is held, then end */
};

static enum cap_status live_next(struct cap_source *s, struct cap_packet *p)
{
	struct live_impl *l = s->impl;
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(l->pcap, &h, &data);
	if (rc == 0 && l->stopping)
		return CAP_END;
	if (rc == 0) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		/* A signal (EINTR) or the timeout: back to the caller. */
		if (poll(&pfd, 1, (int)l->timeout_ms) <= 0)
			return CAP_IDLE;
		rc = pcap_next_ex(l->pcap, &h, &data);
	}
	if (rc == 1) {
		l->count++;
		p->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		p->caplen = h->caplen;
		p->wirelen = h->len;
		p->data = data;
		p->summary = false;
		p->packets = 1;
		return CAP_PACKET;
	}
	if (rc == 0)
		return CAP_IDLE;
	if (rc == PCAP_ERROR_BREAK)
		return CAP_END;
	snprintf(s->err, sizeof(s->err), "%s: after packet %llu: %s", l->iface, (unsigned long long)l->count,
		 pcap_geterr(l->pcap));
	return CAP_ERROR;
}

static void live_progress(const struct cap_source *s, uint64_t *done, uint64_t *total)
{
	const struct live_impl *l = s->impl;
	*done = l->count;
	*total = 0;
}

static int live_stats(const struct cap_source *s, struct cap_stats *st)
{
	struct live_impl *l = s->impl;
	struct pcap_stat ps;
	if (pcap_stats(l->pcap, &ps) != 0)
		return -EIO;
	st->received = ps.ps_recv;
	st->dropped = ps.ps_drop;
	st->if_dropped = ps.ps_ifdrop;
	return 0;
}

static void live_stop(struct cap_source *s)
{
	struct live_impl *l = s->impl;
	l->stopping = true;
}

static void live_close(struct cap_source *s)
{
	struct live_impl *l = s->impl;
	if (l) {
		if (l->pcap)
			pcap_close(l->pcap);
		free(l);
	}
	free(s);
}

static const struct cap_ops live_ops = {
	.name = "pcap",
	.next = live_next,
	.progress = live_progress,
	.close = live_close,
	.stats = live_stats,
	.stop = live_stop,
};

struct cap_source *cap_open_live(const struct cap_live_config *c, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct cap_source *s = NULL;
	struct live_impl *l = NULL;
	struct bpf_program prog;
	bool have_prog = false;

	if (cap_iface_check(c->iface, err, errlen) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	l = calloc(1, sizeof(*l));
	if (!s || !l) {
		snprintf(err, errlen, "%s: out of memory", c->iface);
		goto fail;
	}
	s->ops = &live_ops;
	s->impl = l;
	snprintf(l->iface, sizeof(l->iface), "%s", c->iface);
	if (!(l->pcap = pcap_create(c->iface, perr))) {
		snprintf(err, errlen, "%s: %s", c->iface, perr);
		goto fail;
	}
	pcap_set_snaplen(l->pcap, (int)c->snaplen);
	pcap_set_promisc(l->pcap, c->promisc);
	pcap_set_timeout(l->pcap, (int)c->timeout_ms);
	pcap_set_immediate_mode(l->pcap, c->immediate);
	if (c->buffer_bytes)
		pcap_set_buffer_size(l->pcap, (int)c->buffer_bytes);
	/* Microseconds, whatever the kernel could give: the pipeline's unit. */
	pcap_set_tstamp_precision(l->pcap, PCAP_TSTAMP_PRECISION_MICRO);
	int rc = pcap_activate(l->pcap);
	if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) {
		snprintf(err, errlen, "%s: permission denied: capturing needs root or CAP_NET_RAW (and CAP_NET_ADMIN)",
			 c->iface);
		goto fail;
	}
	if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
		snprintf(err, errlen, "%s: no such network interface (see 'ip link')", c->iface);
		goto fail;
	}
	if (rc == PCAP_ERROR_IFACE_NOT_UP) {
		snprintf(err, errlen, "%s: the interface is down (ip link set %s up)", c->iface, c->iface);
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot capture: %s", c->iface, pcap_geterr(l->pcap));
		goto fail;
	}
	if (c->filter && *c->filter) {
		if (pcap_compile(l->pcap, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			snprintf(err, errlen, "%s: filter '%s': %s", c->iface, c->filter, pcap_geterr(l->pcap));
			goto fail;
		}
		have_prog = true;
		if (pcap_setfilter(l->pcap, &prog) != 0) {
			snprintf(err, errlen, "%s: filter '%s': %s", c->iface, c->filter, pcap_geterr(l->pcap));
			goto fail;
		}
		pcap_freecode(&prog);
		have_prog = false;
	}
	if (pcap_setnonblock(l->pcap, 1, perr) != 0 || (l->fd = pcap_get_selectable_fd(l->pcap)) < 0) {
		snprintf(err, errlen, "%s: cannot poll the capture: %s", c->iface, perr);
		goto fail;
	}
	l->timeout_ms = c->timeout_ms;
	s->linktype = pcap_datalink(l->pcap);
	return s;
fail:
	if (have_prog)
		pcap_freecode(&prog);
	if (s)
		live_close(s);
	else
		free(l);
	return NULL;
}
