#include "pcaps/gen/tcpflow.h"

#include <errno.h>
#include <string.h>

#include "pcaps/gen/pkt.h"

#define TCPF_INIT_CWND 10
#define TCPF_MAX_CWND 512
#define TCPF_IDLE_RESTART_US 1000000 /* slow-start restart after an idle second */
#define TCPF_MIN_RTO_US 200000

static void buf_fill(const void *ctx, size_t off, uint8_t *dst, size_t len)
{
	memcpy(dst, (const uint8_t *)ctx + off, len);
}

struct tcpf_src tcpf_src_buf(const uint8_t *buf, size_t len)
{
	struct tcpf_src s = {buf_fill, buf, len};

	return s;
}

void tcpf_init(struct tcpf *f, struct sim *s, struct prng *r)
{
	f->sim = s;
	f->rng = r;
	f->mss = f->e[0].ep.v6 ? 1428 : 1448; /* MSS 1440/1460 less 12 bytes of timestamps */
	if (f->loss == 0)
		f->loss = 0.0005;
	for (int i = 0; i < 2; i++) {
		struct tcpf_end *e = &f->e[i];

		e->isn = prng_u32(r);
		e->nxt = e->isn;
		e->ts_base = prng_u32(r);
		e->ts_recent = 0;
		e->cwnd = TCPF_INIT_CWND;
		e->last_data = 0;
		e->ep.df = true;
		e->ep.ipid = (uint16_t)prng_u32(r);
		if (!e->wscale)
			e->wscale = 7;
		if (!e->rwnd)
			e->rwnd = 131072;
		if (!e->rate_bps)
			e->rate_bps = 50000000;
		f->flow[i] = prng_u32(r) & 0xfffff;
	}
}

static uint64_t rtt(struct tcpf *f, int end)
{
	return ep_rtt(&f->e[end].ep, f->rng);
}

/* Capture-time spacing of one segment of len payload bytes at the pace of
 * end `from`. */
static uint64_t ser(const struct tcpf *f, int from, size_t len)
{
	return ((uint64_t)(len + 78) * 8 * 1000000) / f->e[from].rate_bps + 1;
}

/* Emits one segment from end `from` at t. sack, when given, is one
 * SACK block [sack[0], sack[1]). */
static void seg(struct tcpf *f, int from, uint64_t t, uint8_t flags, uint32_t seq, uint32_t ack,
		const struct tcpf_src *src, size_t off, size_t len, const uint32_t *sack)
{
	struct tcpf_end *a = &f->e[from], *b = &f->e[!from];
	uint8_t frame[PKT_MAX], payload[PKT_MAX], opt[40];
	uint32_t tsval = a->ts_base + (uint32_t)(t / 1000);
	size_t ol = 0, n;
	struct pkt_l3 l3 = {
		.smac = a->ep.mac,
		.dmac = b->ep.mac,
		.sip = a->ep.ip,
		.dip = b->ep.ip,
		.v6 = a->ep.v6,
		.ttl = a->ep.ttl,
		.df = true,
		.ipid = a->ep.ipid++,
		.flow = f->flow[from],
	};
	struct pkt_tcph h = {
		.sport = a->ep.port,
		.dport = b->ep.port,
		.seq = seq,
		.ack = (flags & PKT_ACK) ? ack : 0,
		.flags = flags,
		.opt = opt,
	};

	if (flags & PKT_SYN) {
		uint16_t mss = a->ep.v6 ? 1440 : 1460;

		opt[ol++] = 2, opt[ol++] = 4, opt[ol++] = (uint8_t)(mss >> 8), opt[ol++] = (uint8_t)mss;
		opt[ol++] = 4, opt[ol++] = 2;
		h.win = (uint16_t)(a->rwnd > 64240 ? 64240 : a->rwnd); /* never scaled in a SYN */
	} else {
		uint32_t w = a->rwnd >> a->wscale;

		opt[ol++] = 1, opt[ol++] = 1;
		h.win = (uint16_t)(w > 0xffff ? 0xffff : w);
	}
	if (!(flags & PKT_RST)) {
		uint32_t ecr = (flags & PKT_SYN) && !(flags & PKT_ACK) ? 0 : a->ts_recent;

		opt[ol++] = 8, opt[ol++] = 10;
		for (int i = 3; i >= 0; i--)
			opt[ol++] = (uint8_t)(tsval >> (8 * i));
		for (int i = 3; i >= 0; i--)
			opt[ol++] = (uint8_t)(ecr >> (8 * i));
		b->ts_recent = tsval;
	} else {
		ol = 0; /* an RST carries no options and no window */
		h.win = 0;
	}
	if (flags & PKT_SYN)
		opt[ol++] = 1, opt[ol++] = 3, opt[ol++] = 3, opt[ol++] = a->wscale;
	if (sack) {
		opt[ol++] = 1, opt[ol++] = 1, opt[ol++] = 5, opt[ol++] = 10;
		for (int k = 0; k < 2; k++)
			for (int i = 3; i >= 0; i--)
				opt[ol++] = (uint8_t)(sack[k] >> (8 * i));
	}
	h.optlen = ol;
	if (len)
		src->fill(src->ctx, off, payload, len);
	n = pkt_tcp(frame, &l3, &h, len ? payload : NULL, len);
	if (!n) {
		sim_fail(f->sim, -EINVAL);
		return;
	}
	if (a->ep.pad)
		n = pkt_pad(frame, n, PKT_ETH_MIN);
	sim_emit(f->sim, t, frame, n);
}

/* A pure ACK from `from`. */
static void ack_only(struct tcpf *f, int from, uint64_t t, uint32_t ack, const uint32_t *sack)
{
	seg(f, from, t, PKT_ACK, f->e[from].nxt, ack, NULL, 0, 0, sack);
}

uint64_t tcpf_open(struct tcpf *f, uint64_t t)
{
	struct tcpf_end *c = &f->e[TCPF_C], *s = &f->e[TCPF_S];
	uint64_t t1, t2;

	seg(f, TCPF_C, t, PKT_SYN, c->isn, 0, NULL, 0, 0, NULL);
	c->nxt = c->isn + 1;
	t1 = t + rtt(f, TCPF_S);
	seg(f, TCPF_S, t1, PKT_SYN | PKT_ACK, s->isn, c->nxt, NULL, 0, 0, NULL);
	s->nxt = s->isn + 1;
	t2 = t1 + rtt(f, TCPF_C);
	ack_only(f, TCPF_C, t2, s->nxt, NULL);
	return t2 + 20;
}

uint64_t tcpf_refused(struct tcpf *f, uint64_t t)
{
	struct tcpf_end *c = &f->e[TCPF_C];
	uint64_t t1 = t + rtt(f, TCPF_S);

	seg(f, TCPF_C, t, PKT_SYN, c->isn, 0, NULL, 0, 0, NULL);
	c->nxt = c->isn + 1;
	seg(f, TCPF_S, t1, PKT_RST | PKT_ACK, 0, c->nxt, NULL, 0, 0, NULL);
	return t1;
}

/* A lone segment lost beyond the capture point: it is seen twice, the
 * second time after the retransmission timeout. */
static uint64_t send_lone_lost(struct tcpf *f, int from, uint64_t t, const struct tcpf_src *src)
{
	struct tcpf_end *a = &f->e[from];
	uint64_t rto = 3 * f->e[!from].ep.rtt_us;
	uint64_t rt = t + prng_jitter(f->rng, rto > TCPF_MIN_RTO_US ? rto : TCPF_MIN_RTO_US, 0.05);
	uint32_t ack = f->e[!from].nxt;

	seg(f, from, t, PKT_ACK | PKT_PSH, a->nxt, ack, src, 0, src->len, NULL);
	seg(f, from, rt, PKT_ACK | PKT_PSH, a->nxt, ack, src, 0, src->len, NULL);
	return rt;
}

uint64_t tcpf_send(struct tcpf *f, int from, uint64_t t, const struct tcpf_src *src, unsigned flags)
{
	struct tcpf_end *a = &f->e[from], *b = &f->e[!from];
	uint32_t base = a->nxt, cwnd = a->cwnd, maxw = b->rwnd / f->mss;
	size_t total = src->len, off = 0;
	uint64_t x = t, last = t, acked = 0; /* time of the receiver's last pure ACK */

	if (total == 0)
		return t;
	if (maxw > TCPF_MAX_CWND)
		maxw = TCPF_MAX_CWND;
	if (maxw < 2)
		maxw = 2;
	if (t > a->last_data + TCPF_IDLE_RESTART_US && cwnd > TCPF_INIT_CWND)
		cwnd = TCPF_INIT_CWND;
	if (total <= f->mss && prng_chance(f->rng, f->loss * 4)) {
		last = send_lone_lost(f, from, t, src);
		acked = last + rtt(f, !from);
		ack_only(f, !from, acked, base + (uint32_t)total, NULL);
		goto done;
	}
	while (off < total) {
		size_t left = (total - off + f->mss - 1) / f->mss;
		uint32_t n = left < cwnd ? (uint32_t)left : cwnd, inorder = 0;
		int lost = n >= 4 && prng_chance(f->rng, f->loss * n) ? (int)prng_below(f->rng, n - 1) : -1;
		uint64_t ti = x, first_ack = 0, dup_first = 0;
		size_t o = off, hole = 0, hole_len = 0;

		for (uint32_t i = 0; i < n; i++) {
			size_t len = total - o < f->mss ? total - o : f->mss;
			bool final = o + len == total;
			uint64_t at = ti + rtt(f, !from);

			if ((int)i == lost) {
				hole = o;
				hole_len = len;
			} else {
				seg(f, from, ti, PKT_ACK | (final ? PKT_PSH : 0), base + (uint32_t)o, b->nxt,
				    src, o, len, NULL);
			}
			if (lost >= 0 && (int)i > lost) {
				uint32_t sk[2] = {base + (uint32_t)(hole + hole_len), base + (uint32_t)(o + len)};

				ack_only(f, !from, at, base + (uint32_t)hole, sk);
				if (!dup_first)
					dup_first = at;
			} else if ((int)i != lost) {
				inorder++;
				if (inorder % 2 == 0 || (i == n - 1 && !final) ||
				    (final && !(flags & TCPF_NOACK))) {
					if (final && inorder % 2 && n == 1)
						at += prng_below(f->rng, 40000); /* delayed ACK */
					ack_only(f, !from, at, base + (uint32_t)(o + len), NULL);
					if (!first_ack)
						first_ack = at;
					if (at > acked)
						acked = at;
				}
			}
			if (ti > last)
				last = ti;
			o += len;
			ti += ser(f, from, len);
		}
		if (lost >= 0) {
			uint64_t rt = dup_first + rtt(f, from), cum = rt + rtt(f, !from), back = cum + rtt(f, from);

			seg(f, from, rt, PKT_ACK, base + (uint32_t)hole, b->nxt, src, hole, hole_len, NULL);
			if (!(o == total && (flags & TCPF_NOACK))) {
				ack_only(f, !from, cum, base + (uint32_t)o, NULL);
				if (cum > acked)
					acked = cum;
			}
			if (rt > last)
				last = rt;
			cwnd = cwnd / 2 > 2 ? cwnd / 2 : 2;
			x = back > ti ? back : ti;
		} else {
			uint64_t back = first_ack ? first_ack + rtt(f, from) : 0;

			x = back > ti ? back : ti;
			cwnd = cwnd * 2 < maxw ? cwnd * 2 : maxw;
		}
		off = o;
	}
done:
	a->nxt = base + (uint32_t)total;
	a->cwnd = cwnd;
	a->last_data = last;
	/* The receiver answers after its own ACK, never before it. */
	x = last + rtt(f, !from);
	return x > acked ? x : acked + 30;
}

uint64_t tcpf_close(struct tcpf *f, int from, uint64_t t)
{
	struct tcpf_end *a = &f->e[from], *b = &f->e[!from];
	uint64_t t1 = t + rtt(f, !from), t2;

	seg(f, from, t, PKT_FIN | PKT_ACK, a->nxt, b->nxt, NULL, 0, 0, NULL);
	a->nxt++;
	seg(f, !from, t1, PKT_FIN | PKT_ACK, b->nxt, a->nxt, NULL, 0, 0, NULL);
	b->nxt++;
	t2 = t1 + rtt(f, from);
	ack_only(f, from, t2, b->nxt, NULL);
	return t2;
}

uint64_t tcpf_reset(struct tcpf *f, int from, uint64_t t)
{
	struct tcpf_end *a = &f->e[from], *b = &f->e[!from];

	seg(f, from, t, PKT_RST | PKT_ACK, a->nxt, b->nxt, NULL, 0, 0, NULL);
	return t;
}
