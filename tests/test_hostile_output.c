/*
 * Hostile names on their way out: devices that call themselves, resolve and
 * reach names made of quotes, backslashes, control characters, terminal
 * escapes, NULs, C1 controls, bidi overrides, malformed UTF-8, 63-byte
 * labels and 255-byte names (DHCP, mDNS, SSDP, DNS answers, TLS SNI, HTTP
 * Host), replayed by the real binary ($IOTIDS_BIN) next to the same capture
 * with clean names of the same lengths. What comes out must be safe
 * everywhere: JSON lines that parse and keep every alert and field, names
 * that are valid UTF-8 without controls and say what was sent in the
 * documented escaped form (README: valid UTF-8 kept, control characters,
 * invalid bytes and the backslash as \xHH, a '.' inside a DNS label as
 * \x2e, DNS names lower-cased), the same documents in Redis, text tables
 * whose columns stay put, and a store that gives back what it was given.
 *
 * The capture is written here, packet by packet (tests/pktbuild.h); the
 * expected text is computed here from the bytes sent, by an escaper of the
 * test's own, not by features/text.c.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <wchar.h>

#include "features/text.h"
#include "tests/genrun.h"
#include "tests/pktbuild.h"
#include "tests/redisrun.h"

extern int wcwidth(wchar_t c);

/* ---- the devices and the names they use ---- */

static const uint8_t MAC_ROUTER[6] = {0x50, 0xc7, 0xbf, 0x00, 0x00, 0x01}; /* TP-LINK */
static const uint8_t MAC_A[6] = {0xd8, 0x1f, 0x12, 0x00, 0x00, 0x0a};      /* Tuya: a plug */
static const uint8_t MAC_B[6] = {0xc0, 0x56, 0xe3, 0x00, 0x00, 0x0b};      /* Hikvision: a camera */
static const uint8_t MAC_C[6] = {0x70, 0xee, 0x50, 0x00, 0x00, 0x0c};      /* Netatmo */
static const uint8_t MAC_D[6] = {0xb0, 0x4a, 0x39, 0x00, 0x00, 0x0d};      /* Roborock, joins late */
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_MDNS[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
static const uint8_t MAC_SSDP[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa};

static const uint8_t IP_ROUTER[4] = {192, 168, 1, 1};
static const uint8_t IP_A[4] = {192, 168, 1, 10};
static const uint8_t IP_B[4] = {192, 168, 1, 20};
static const uint8_t IP_C[4] = {192, 168, 1, 30};
static const uint8_t IP_D[4] = {192, 168, 1, 40};
static const uint8_t IP_ANY[4] = {0, 0, 0, 0};
static const uint8_t IP_BCAST[4] = {255, 255, 255, 255};
static const uint8_t IP_MDNS[4] = {224, 0, 0, 251};
static const uint8_t IP_SSDP[4] = {239, 255, 255, 250};
/* Learned destinations, and new ones (another /24: a new prefix) raised on. */
static const uint8_t IP_A_OLD[4] = {203, 0, 113, 10};
static const uint8_t IP_A_NEW[4] = {192, 0, 2, 50};
static const uint8_t IP_B_OLD[4] = {198, 51, 100, 20};
static const uint8_t IP_B_NEW[4] = {198, 18, 0, 21};
static const uint8_t IP_C_OLD[4] = {198, 51, 100, 30};
static const uint8_t IP_C_NEW[4] = {45, 33, 32, 31};
static const uint8_t IP_D_DNS[4] = {203, 0, 113, 99};

/* Everything at once: quotes and an SQL injection, a backslash, line
 * breaks, a tab, terminal colour escapes, DEL, C1 controls as UTF-8 (NEL,
 * CSI), a right-to-left override and a zero-width space, a lone
 * continuation byte, an overlong '/', a surrogate, a truncated sequence,
 * valid two- and three-byte characters (one of them wide), a NUL. */
static const char HOSTILE[] = "q\"uo'te'); DROP TABLE profiles;--\\back\n\r\t\x1b[31mred\x1b[0m\x7f"
			      "\xc2\x85\xc2\x9b"
			      "\xe2\x80\xae"
			      "rtl"
			      "\xe2\x80\x8b"
			      "\x80"
			      "\xc0\xaf"
			      "\xed\xa0\x80"
			      "\xe2\x82"
			      "\xc3\xa9"
			      "\xe4\xb8\xad"
			      "\x00"
			      "nul";
/* The same without what ends a header line or a C string (HTTP Host, SNI,
 * SSDP headers): nDPI keeps a server name as a C string. */
static const char HOSTILE_LINE[] = "q\"uo'te\\back\t\x1b[31mred\x1b[0m\x7f"
				   "\xc2\x85\xc2\x9b"
				   "\xe2\x80\xae"
				   "rtl"
				   "\x80"
				   "\xc0\xaf"
				   "\xed\xa0\x80"
				   "\xe2\x82"
				   "\xc3\xa9"
				   "\xe4\xb8\xad";

struct name {
	uint8_t b[256];
	size_t n;
};

#define MAX_LABELS 4
struct dname {
	struct name label[MAX_LABELS];
	int n;
};

/* Every name of the capture; the clean world has the same lengths. */
struct world {
	struct name host_a, vendor_a, host_d;
	struct dname learn_a, new_a;                  /* DNS: what A resolves */
	struct dname mdns_host_b;                    /* mDNS: B's host name, less .local */
	struct name mdns_inst_b, txt_b;              /* mDNS: an instance label, a TXT string */
	struct name server_b, usn_b;                 /* SSDP */
	struct name sni_old_b, sni_new_b;            /* TLS */
	struct name host_old_c, host_new_c;          /* HTTP */
};

static void put_bytes(struct name *n, const void *b, size_t len)
{
	cr_assert_leq(n->n + len, sizeof(n->b), "test name too long");
	memcpy(n->b + n->n, b, len);
	n->n += len;
}

static void put_str(struct name *n, const char *s)
{
	put_bytes(n, s, strlen(s));
}

/* Hostile bytes until n is len long. */
static void fill(struct name *n, const char *with, size_t with_len, size_t len)
{
	while (n->n < len) {
		size_t k = len - n->n < with_len ? len - n->n : with_len;
		put_bytes(n, with, k);
	}
}

/* Same length, letters only (dots kept where keep_dots). */
static void cleanse(struct name *n, bool keep_dots)
{
	for (size_t i = 0; i < n->n; i++)
		if (!(keep_dots && n->b[i] == '.'))
			n->b[i] = (uint8_t)('a' + i % 26);
}

static void label(struct dname *d, const void *b, size_t len)
{
	cr_assert_lt(d->n, MAX_LABELS);
	struct name *l = &d->label[d->n++];
	l->n = 0;
	put_bytes(l, b, len);
}

static void world_make(struct world *w, bool hostile)
{
	memset(w, 0, sizeof(*w));
	put_str(&w->host_a, "plug-");
	put_bytes(&w->host_a, HOSTILE, sizeof(HOSTILE) - 1);
	put_str(&w->vendor_a, "udhcp \\x41 \x1b]0;pwned\x07 \xff\xfe \\");
	fill(&w->host_d, HOSTILE, sizeof(HOSTILE) - 1, 255);

	label(&w->learn_a, "api\x1b[2J", 7);
	label(&w->learn_a, "tu\"ya\\eu", 8);
	label(&w->learn_a, "com", 3);
	/* 255 bytes on the wire: 63 + 63 + 63 + 61 label bytes. */
	struct name l = {.n = 0};
	fill(&l, HOSTILE, sizeof(HOSTILE) - 1, 63);
	label(&w->new_a, l.b, l.n);
	memset(l.b, '.', 63); /* all dots */
	label(&w->new_a, l.b, 63);
	memset(l.b, '\\', 63); /* all escapes */
	label(&w->new_a, l.b, 63);
	for (int i = 0; i < 61; i++) /* C0, DEL, C1 as bytes */
		l.b[i] = (uint8_t)(i < 31 ? 1 + i : i == 31 ? 0x7f : 0x80 + (i - 32));
	label(&w->new_a, l.b, 61);

	/* Longer than 255 bytes as text, and cut there inside a character. */
	l.n = 0;
	put_str(&l, "Cam\xc3\xa9\xe4\xb8\xad\xe4\xb8\xad-");
	fill(&l, HOSTILE, sizeof(HOSTILE) - 1, 63);
	label(&w->mdns_host_b, l.b, l.n);
	l.n = 0;
	fill(&l, HOSTILE + 3, sizeof(HOSTILE) - 4, 63);
	label(&w->mdns_host_b, l.b, l.n);
	l.n = 0;
	fill(&l, "\xe4\xb8\xad", 3, 63);
	label(&w->mdns_host_b, l.b, l.n);
	put_str(&w->mdns_inst_b, "Living.Room\n\"x\"\xe2\x80\xae");
	put_bytes(&w->mdns_inst_b, "\x00\x01", 2);
	put_str(&w->txt_b, "md=Cam\x1b[5mX\xff\\");
	put_str(&w->server_b, "Linux/\x1b[31m UPnP/1.0 \xff\xfe \"q\" \\x41 ");
	put_bytes(&w->server_b, HOSTILE_LINE, sizeof(HOSTILE_LINE) - 1);
	put_str(&w->usn_b, "uuid:\x07\x08");
	put_str(&w->usn_b, "bell\xe2\x80\xae::upnp:rootdevice");

	put_str(&w->sni_old_b, "cam\x1b[1m.hik\"connect.com");
	fill(&w->sni_new_b, "x", 1, 120);
	put_bytes(&w->sni_new_b, HOSTILE_LINE, sizeof(HOSTILE_LINE) - 1);
	put_str(&w->sni_new_b, ".c2.example");
	put_str(&w->host_old_c, "net\x1b"
				"atmo\x7f.net");
	fill(&w->host_new_c, "y", 1, 70);
	put_bytes(&w->host_new_c, HOSTILE_LINE, sizeof(HOSTILE_LINE) - 1);
	put_str(&w->host_new_c, ".example");
	if (hostile)
		return;
	struct name *flat[] = {&w->host_a, &w->vendor_a, &w->host_d, &w->mdns_inst_b, &w->txt_b, &w->server_b,
			       &w->usn_b};
	for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
		cleanse(flat[i], false);
	struct name *dotted[] = {&w->sni_old_b, &w->sni_new_b, &w->host_old_c, &w->host_new_c};
	for (size_t i = 0; i < sizeof(dotted) / sizeof(dotted[0]); i++)
		cleanse(dotted[i], true);
	for (int i = 0; i < w->learn_a.n; i++)
		cleanse(&w->learn_a.label[i], false);
	for (int i = 0; i < w->new_a.n; i++)
		cleanse(&w->new_a.label[i], false);
	for (int i = 0; i < w->mdns_host_b.n; i++)
		cleanse(&w->mdns_host_b.label[i], false);
	memcpy(w->txt_b.b, "md=", 3); /* still a model key */
}

/* ---- the capture: a classic pcap, Ethernet ---- */

#define T0 1772431200ull /* 2026-03-02T06:00:00Z */
#define S 1000000ull
#define LEARN "10m"

/* Packets are kept until the end and written in time order, so each
 * device's routine can be written on its own. */
#define CAP_MAX 2048
struct rec {
	uint64_t ts;
	size_t seq;        /* order of writing: same times keep it */
	size_t len;
	uint8_t b[TPKT_MAX];
};

struct cap {
	const char *path;
	struct rec *recs;
	size_t n;
	uint16_t sport;   /* next client port */
	uint32_t seq;     /* next initial sequence number */
};

static void cap_open(struct cap *c, const char *path)
{
	c->path = path;
	c->recs = malloc(CAP_MAX * sizeof(*c->recs));
	cr_assert_not_null(c->recs);
	c->n = 0;
	c->sport = 40000;
	c->seq = 1000;
}

static void cap_write(struct cap *c, uint64_t ts_us, struct tpkt *p)
{
	tpkt_finish(p);
	tpkt_pad(p, 60);
	cr_assert_lt(c->n, CAP_MAX);
	struct rec *r = &c->recs[c->n];
	r->ts = ts_us;
	r->seq = c->n++;
	r->len = p->len;
	memcpy(r->b, p->b, p->len);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void cap_close(struct cap *c)
{
	FILE *f = fopen(c->path, "wb");
	cr_assert_not_null(f, "%s", c->path);
	const uint32_t hdr[6] = {0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, 1};
	cr_assert_eq(fwrite(hdr, sizeof(hdr), 1, f), 1);
	qsort(c->recs, c->n, sizeof(*c->recs), cmp_rec);
	for (size_t i = 0; i < c->n; i++) {
		uint64_t at = T0 * S + c->recs[i].ts;
		uint32_t rec[4] = {(uint32_t)(at / S), (uint32_t)(at % S), (uint32_t)c->recs[i].len,
				   (uint32_t)c->recs[i].len};
		cr_assert_eq(fwrite(rec, sizeof(rec), 1, f), 1);
		cr_assert_eq(fwrite(c->recs[i].b, c->recs[i].len, 1, f), 1);
	}
	cr_assert_eq(fclose(f), 0);
	free(c->recs);
}

struct ep {
	const uint8_t *mac;
	const uint8_t *ip;
	uint16_t port;
};

static void udp(struct cap *c, uint64_t ts, struct ep src, struct ep dst, const void *data, size_t n)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, dst.mac, src.mac, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = {.proto = TPKT_IP_UDP};
	memcpy(h.src, src.ip, 4);
	memcpy(h.dst, dst.ip, 4);
	tpkt_ipv4(&p, &h);
	tpkt_udp(&p, src.port, dst.port);
	tpkt_bytes(&p, data, n);
	cap_write(c, ts, &p);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static void tcp(struct cap *c, uint64_t ts, struct ep src, struct ep dst, uint8_t flags, uint32_t seq, uint32_t ack,
		const void *data, size_t n)
{
	struct tpkt p;
	tpkt_init(&p);
	tpkt_eth(&p, dst.mac, src.mac, TPKT_ETH_IPV4);
	struct tpkt_ipv4 h = {.proto = TPKT_IP_TCP};
	memcpy(h.src, src.ip, 4);
	memcpy(h.dst, dst.ip, 4);
	tpkt_ipv4(&p, &h);
	size_t at = tpkt_tcp(&p, src.port, dst.port, flags, 0);
	tpkt_put16(&p, at + 4, (uint16_t)(seq >> 16));
	tpkt_put16(&p, at + 6, (uint16_t)seq);
	tpkt_put16(&p, at + 8, (uint16_t)(ack >> 16));
	tpkt_put16(&p, at + 10, (uint16_t)ack);
	if (n)
		tpkt_bytes(&p, data, n);
	cap_write(c, ts, &p);
}

/* A whole TCP connection: handshake, the client's data, the server's,
 * FIN both ways; 10 ms a packet. */
static void tcp_session(struct cap *c, uint64_t ts, const uint8_t *mac, const uint8_t *ip, const uint8_t *dst,
			uint16_t dport, const void *req, size_t req_n, const void *resp, size_t resp_n)
{
	struct ep cl = {mac, ip, c->sport++}, sv = {MAC_ROUTER, dst, dport};
	uint32_t cs = c->seq, ss = c->seq + 500000;
	c->seq += 1000;
	uint64_t t = ts;
	tcp(c, t, cl, sv, TCP_SYN, cs, 0, NULL, 0);
	tcp(c, t += 10000, sv, cl, TCP_SYN | TCP_ACK, ss, cs + 1, NULL, 0);
	tcp(c, t += 10000, cl, sv, TCP_ACK, cs + 1, ss + 1, NULL, 0);
	tcp(c, t += 10000, cl, sv, TCP_PSH | TCP_ACK, cs + 1, ss + 1, req, req_n);
	tcp(c, t += 10000, sv, cl, TCP_PSH | TCP_ACK, ss + 1, cs + 1 + (uint32_t)req_n, resp, resp_n);
	tcp(c, t += 10000, cl, sv, TCP_FIN | TCP_ACK, cs + 1 + (uint32_t)req_n, ss + 1 + (uint32_t)resp_n, NULL, 0);
	tcp(c, t += 10000, sv, cl, TCP_FIN | TCP_ACK, ss + 1 + (uint32_t)resp_n, cs + 2 + (uint32_t)req_n, NULL, 0);
	tcp(c, t + 10000, cl, sv, TCP_ACK, cs + 2 + (uint32_t)req_n, ss + 2 + (uint32_t)resp_n, NULL, 0);
}

/* Message bytes. */
struct msg {
	uint8_t b[2048];
	size_t n;
};

static void m8(struct msg *m, uint8_t v)
{
	cr_assert_lt(m->n, sizeof(m->b));
	m->b[m->n++] = v;
}

static void m16(struct msg *m, uint16_t v)
{
	m8(m, (uint8_t)(v >> 8));
	m8(m, (uint8_t)v);
}

static void m24(struct msg *m, uint32_t v)
{
	m8(m, (uint8_t)(v >> 16));
	m16(m, (uint16_t)v);
}

static void m32(struct msg *m, uint32_t v)
{
	m16(m, (uint16_t)(v >> 16));
	m16(m, (uint16_t)v);
}

static void mput(struct msg *m, const void *b, size_t n)
{
	cr_assert_leq(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, b, n);
	m->n += n;
}

static void mset16(struct msg *m, size_t at, size_t v)
{
	m->b[at] = (uint8_t)(v >> 8);
	m->b[at + 1] = (uint8_t)v;
}

/* ---- DNS (RFC 1035 section 4.1), names uncompressed ---- */

static void m_name(struct msg *m, const struct dname *d)
{
	for (int i = 0; i < d->n; i++) {
		m8(m, (uint8_t)d->label[i].n);
		mput(m, d->label[i].b, d->label[i].n);
	}
	m8(m, 0);
}

static struct dname dn(const char *a, const char *b, const char *c)
{
	struct dname d = {.n = 0};
	const char *parts[] = {a, b, c};
	for (int i = 0; i < 3 && parts[i]; i++)
		label(&d, parts[i], strlen(parts[i]));
	return d;
}

/* An owner, type, class, TTL; the rdlength's place is returned. */
static size_t m_rr(struct msg *m, const struct dname *owner, uint16_t type, uint16_t rclass)
{
	m_name(m, owner);
	m16(m, type);
	m16(m, rclass);
	m32(m, 300);
	size_t at = m->n;
	m16(m, 0);
	return at;
}

static void m_rr_end(struct msg *m, size_t at)
{
	mset16(m, at, m->n - at - 2);
}

/* A's query for name, then the router's answer: one A record for ip. */
static void dns_lookup(struct cap *c, uint64_t ts, const uint8_t *mac, const uint8_t *ip, const struct dname *name,
		       const uint8_t answer[4])
{
	struct msg q = {.n = 0}, r = {.n = 0};
	uint16_t port = c->sport++;
	m16(&q, port);
	m16(&q, 0x0100); /* RD */
	m16(&q, 1);
	m16(&q, 0);
	m16(&q, 0);
	m16(&q, 0);
	m_name(&q, name);
	m16(&q, 1);
	m16(&q, 1);
	mput(&r, q.b, q.n);
	mset16(&r, 2, 0x8180);
	mset16(&r, 6, 1);
	size_t at = m_rr(&r, name, 1, 1);
	mput(&r, answer, 4);
	m_rr_end(&r, at);
	struct ep cl = {mac, ip, port}, sv = {MAC_ROUTER, IP_ROUTER, 53};
	udp(c, ts, cl, sv, q.b, q.n);
	udp(c, ts + 5000, sv, cl, r.b, r.n);
}

/* B announces itself (RFC 6762, 6763): its host name, a HomeKit service
 * instance (PTR, SRV, TXT). */
static void mdns_announce(struct cap *c, uint64_t ts, const struct world *w)
{
	struct msg m = {.n = 0};
	m16(&m, 0);
	m16(&m, 0x8400);
	m16(&m, 0);
	m16(&m, 4);
	m16(&m, 0);
	m16(&m, 0);
	struct dname host = w->mdns_host_b, inst = {.n = 0}, type = dn("_hap", "_tcp", "local");
	label(&host, "local", 5);
	label(&inst, w->mdns_inst_b.b, w->mdns_inst_b.n);
	for (int i = 0; i < type.n; i++)
		label(&inst, type.label[i].b, type.label[i].n);
	size_t at = m_rr(&m, &host, 1, 0x8001);
	mput(&m, IP_B, 4);
	m_rr_end(&m, at);
	at = m_rr(&m, &type, 12, 1);
	m_name(&m, &inst);
	m_rr_end(&m, at);
	at = m_rr(&m, &inst, 33, 0x8001);
	m16(&m, 0);
	m16(&m, 0);
	m16(&m, 8080);
	m_name(&m, &host);
	m_rr_end(&m, at);
	at = m_rr(&m, &inst, 16, 0x8001);
	m8(&m, (uint8_t)w->txt_b.n);
	mput(&m, w->txt_b.b, w->txt_b.n);
	m_rr_end(&m, at);
	udp(c, ts, (struct ep){MAC_B, IP_B, 5353}, (struct ep){MAC_MDNS, IP_MDNS, 5353}, m.b, m.n);
}

/* ---- SSDP NOTIFY, DHCP REQUEST, TLS ClientHello, HTTP GET ---- */

static void ssdp_notify(struct cap *c, uint64_t ts, const struct world *w)
{
	struct msg m = {.n = 0};
	static const char head[] = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
				   "LOCATION: http://192.168.1.20:8080/desc.xml\r\nNT: upnp:rootdevice\r\n"
				   "NTS: ssdp:alive\r\nSERVER: ";
	mput(&m, head, sizeof(head) - 1);
	mput(&m, w->server_b.b, w->server_b.n);
	mput(&m, "\r\nUSN: ", 7);
	mput(&m, w->usn_b.b, w->usn_b.n);
	mput(&m, "\r\n\r\n", 4);
	udp(c, ts, (struct ep){MAC_B, IP_B, 1900}, (struct ep){MAC_SSDP, IP_SSDP, 1900}, m.b, m.n);
}

/* RFC 2131/2132: DHCPREQUEST with hostname (12) and, when given, vendor
 * class (60). */
static void dhcp_request(struct cap *c, uint64_t ts, const uint8_t *mac, const uint8_t *ip, const struct name *host,
			 const struct name *vendor)
{
	struct msg m = {.n = 0};
	m8(&m, 1);
	m8(&m, 1);
	m8(&m, 6);
	m8(&m, 0);
	m32(&m, 0x3903f326);
	m16(&m, 0);
	m16(&m, 0x8000);
	for (int i = 0; i < 16; i++)
		m8(&m, 0);
	mput(&m, mac, 6);
	for (int i = 0; i < 10 + 64 + 128; i++)
		m8(&m, 0);
	m32(&m, 0x63825363);
	mput(&m, (const uint8_t[]){53, 1, 3, 50, 4}, 5);
	mput(&m, ip, 4);
	m8(&m, 12);
	m8(&m, (uint8_t)host->n);
	mput(&m, host->b, host->n);
	if (vendor) {
		m8(&m, 60);
		m8(&m, (uint8_t)vendor->n);
		mput(&m, vendor->b, vendor->n);
	}
	mput(&m, (const uint8_t[]){55, 4, 1, 3, 6, 15, 255}, 7);
	udp(c, ts, (struct ep){mac, IP_ANY, 68}, (struct ep){MAC_BCAST, IP_BCAST, 67}, m.b, m.n);
}

/* A TLS 1.3 ClientHello (RFC 8446 4.1.2) with server_name (RFC 6066 3). */
static void client_hello(struct msg *m, const struct name *sni)
{
	m->n = 0;
	m8(m, 0x16);
	m16(m, 0x0301);
	size_t rec = m->n;
	m16(m, 0);
	m8(m, 1);
	size_t hs = m->n;
	m24(m, 0);
	m16(m, 0x0303);
	for (int i = 0; i < 32; i++)
		m8(m, (uint8_t)(0x40 + i));
	m8(m, 0);
	m16(m, 6);
	m16(m, 0x1301);
	m16(m, 0xc02b);
	m16(m, 0xc02f);
	m8(m, 1);
	m8(m, 0);
	size_t ext = m->n;
	m16(m, 0);
	m16(m, 0x0000);
	m16(m, (uint16_t)(sni->n + 5));
	m16(m, (uint16_t)(sni->n + 3));
	m8(m, 0);
	m16(m, (uint16_t)sni->n);
	mput(m, sni->b, sni->n);
	m16(m, 0x000a);
	m16(m, 4);
	m16(m, 2);
	m16(m, 0x001d);
	m16(m, 0x002b);
	m16(m, 3);
	m8(m, 2);
	m16(m, 0x0304);
	mset16(m, ext, m->n - ext - 2);
	size_t hl = m->n - hs - 3;
	m->b[hs] = (uint8_t)(hl >> 16);
	mset16(m, hs + 1, hl);
	mset16(m, rec, m->n - rec - 2);
}

static void tls_session(struct cap *c, uint64_t ts, const uint8_t *dst, const struct name *sni)
{
	struct msg hello;
	client_hello(&hello, sni);
	static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}; /* handshake failure */
	tcp_session(c, ts, MAC_B, IP_B, dst, 443, hello.b, hello.n, alert, sizeof(alert));
}

static void http_session(struct cap *c, uint64_t ts, const uint8_t *dst, const struct name *host)
{
	struct msg req = {.n = 0};
	static const char get[] = "GET /api/v1/ping HTTP/1.1\r\nHost: ";
	static const char tail[] = "\r\nUser-Agent: thermo/2.1\r\nAccept: */*\r\n\r\n";
	static const char resp[] = "HTTP/1.1 204 No Content\r\nServer: nginx\r\n\r\n";
	mput(&req, get, sizeof(get) - 1);
	mput(&req, host->b, host->n);
	mput(&req, tail, sizeof(tail) - 1);
	tcp_session(c, ts, MAC_C, IP_C, dst, 80, req.b, req.n, resp, sizeof(resp) - 1);
}

static void write_capture(const char *path, const struct world *w)
{
	static const char data[] = "0123456789abcdef0123456789abcdef";
	struct cap c;
	cap_open(&c, path);
	struct name host_c = {.n = 0};
	put_str(&host_c, "thermo-c");
	dhcp_request(&c, 0, MAC_A, IP_A, &w->host_a, &w->vendor_a);
	mdns_announce(&c, S / 2, w);
	ssdp_notify(&c, S / 2 + 200000, w);
	dhcp_request(&c, S - 100000, MAC_C, IP_C, &host_c, NULL);
	/* Each device's routine, every 30 s until the end. */
	for (uint64_t t = 5 * S; t < 990 * S; t += 30 * S) {
		dns_lookup(&c, t, MAC_A, IP_A, &w->learn_a, IP_A_OLD);
		tcp_session(&c, t + 20000, MAC_A, IP_A, IP_A_OLD, 443, data, sizeof(data) - 1, data, sizeof(data) - 1);
		tls_session(&c, t + 2 * S, IP_B_OLD, &w->sni_old_b);
		http_session(&c, t + 4 * S, IP_C_OLD, &w->host_old_c);
		if (t == 755 * S) { /* learning ended at 600 s: new destinations */
			dns_lookup(&c, t + 10 * S, MAC_A, IP_A, &w->new_a, IP_A_NEW);
			tcp_session(&c, t + 10 * S + 20000, MAC_A, IP_A, IP_A_NEW, 443, data, sizeof(data) - 1, data,
				    sizeof(data) - 1);
			tls_session(&c, t + 12 * S, IP_B_NEW, &w->sni_new_b);
			http_session(&c, t + 14 * S, IP_C_NEW, &w->host_new_c);
		}
	}
	/* D joins once the network is learned. */
	dhcp_request(&c, 840 * S, MAC_D, IP_D, &w->host_d, NULL);
	struct dname robo = dn("api-eu", "roborock", "com");
	for (uint64_t t = 841 * S; t < 1000 * S; t += 10 * S)
		dns_lookup(&c, t, MAC_D, IP_D, &robo, IP_D_DNS);
	cap_close(&c);
}

/* ---- what the names must read as: the documented escaped form ---- */

/* The strict UTF-8 decoder of RFC 3629: the sequence's length, or 0. */
static size_t utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t k = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (k == 0 || k > n)
		return 0;
	uint32_t c = k == 1 ? p[0] : p[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	if (c < least[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return k;
}

/* C1 controls and the invisible format characters (README, text.h). */
static bool hidden(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) ||
	       c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) || (c >= 0xe0000 && c <= 0xe007f);
}

/* The text n's bytes must become, cut (at a whole character or escape)
 * to fit cap with its NUL; dns_label: a '.' is "\x2e". */
static void expect(char *out, size_t cap, const uint8_t *p, size_t n, bool dns_label)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		char unit[8];
		size_t k, used;
		uint32_t c;
		size_t len = utf8_decode(p + i, n - i, &c);
		bool keep = len > 1 ? !hidden(c) : len == 1 && c >= 0x20 && c != 0x7f && c != '\\' && !(dns_label && c == '.');
		if (keep) {
			memcpy(unit, p + i, len);
			k = used = len;
		} else {
			snprintf(unit, sizeof(unit), "\\x%02x", p[i]);
			k = 4;
			used = 1;
		}
		if (o + k >= cap)
			break;
		memcpy(out + o, unit, k);
		o += k;
		i += used;
	}
	out[o] = '\0';
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

#define TEXT_MAX 4096
/* DHCP and SSDP values are kept in 256 bytes (dhcp.h, ssdp.h). */
#define FIELD_CAP 256

static const char *expect_field(const struct name *n, size_t cap)
{
	static char buf[4][TEXT_MAX];
	static int i;
	i = (i + 1) % 4;
	expect(buf[i], cap, n->b, n->n, false);
	return buf[i];
}

/* A DNS name as text: labels escaped, joined by '.', lower-cased (an mDNS
 * host name keeps its case). */
static const char *expect_name(const struct dname *d, bool lower_case)
{
	static char buf[2][TEXT_MAX];
	static int i;
	i = (i + 1) % 2;
	size_t o = 0;
	for (int l = 0; l < d->n; l++) {
		if (l)
			buf[i][o++] = '.';
		expect(buf[i] + o, TEXT_MAX - o, d->label[l].b, d->label[l].n, true);
		o += strlen(buf[i] + o);
	}
	buf[i][o] = '\0';
	if (lower_case)
		lower(buf[i]);
	return buf[i];
}

static const char *expect_dns(const struct dname *d)
{
	return expect_name(d, true);
}

/* What nDPI (4.2) keeps of a server name: its last 79 bytes, ASCII
 * lower-cased, and of a TLS SNI each byte that is not printable ASCII as
 * '?' (nDPI's own cleaning); an HTTP Host keeps its bytes. Then escaped. */
static const char *expect_server_name(const struct name *n, bool sni)
{
	static char buf[TEXT_MAX];
	uint8_t kept[79];
	size_t k = n->n < sizeof(kept) ? n->n : sizeof(kept);
	memcpy(kept, n->b + n->n - k, k);
	for (size_t i = 0; i < k; i++) {
		if (kept[i] >= 'A' && kept[i] <= 'Z')
			kept[i] = (uint8_t)(kept[i] - 'A' + 'a');
		if (sni && (kept[i] < 0x20 || kept[i] > 0x7e))
			kept[i] = '?';
	}
	expect(buf, sizeof(buf), kept, k, false);
	return buf;
}

/* NULL when s[0..n) is safe text, else why not. */
static const char *unsafe(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = utf8_decode(p + i, n - i, &c);
		if (!k)
			return "invalid UTF-8";
		if (c < 0x20 || c == 0x7f)
			return "a control character";
		if (hidden(c))
			return "a C1 control or an invisible format character";
		if (c == '\\') {
			bool hex = i + 3 < n && p[i + 1] == 'x';
			for (size_t j = 2; hex && j < 4; j++)
				hex = (p[i + j] >= '0' && p[i + j] <= '9') || (p[i + j] >= 'a' && p[i + j] <= 'f');
			if (!hex)
				return "a backslash that starts no \\xHH escape";
		}
		i += k;
	}
	return NULL;
}

/* Every string in j (keys too) is safe text. */
static void check_json_strings(json_t *j, const char *where)
{
	const char *key, *why;
	json_t *v;
	size_t i;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, key, v) {
			cr_assert_null(why = unsafe(key, strlen(key)), "%s: key '%s': %s", where, key, why);
			check_json_strings(v, where);
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			check_json_strings(v, where);
		break;
	case JSON_STRING:
		why = unsafe(json_string_value(j), json_string_length(j));
		cr_assert_null(why, "%s: \"%s\": %s", where, json_string_value(j), why);
		break;
	default:
		break;
	}
}

/* ---- running iotids ---- */

static struct redisrun srv;
static struct world hw; /* the hostile names */

static void setup(void)
{
	genrun_setup();
	memset(&srv, 0, sizeof(srv));
	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"), "the C.UTF-8 locale is missing");
	struct world clean;
	world_make(&hw, true);
	world_make(&clean, false);
	write_capture(genrun_path("hostile.pcap"), &hw);
	write_capture(genrun_path("clean.pcap"), &clean);
}

static void teardown(void)
{
	redisrun_stop(&srv);
	genrun_teardown();
}

TestSuite(hostout, .init = setup, .fini = teardown, .timeout = 300);

struct run {
	int status;
	char *out, *err;
	size_t out_len;
};

/* "$IOTIDS_BIN ARGS" run by the shell, in the scratch directory. */
static struct run iotids(const char *fmt, ...)
{
	const char *bin = getenv("IOTIDS_BIN");
	cr_assert_not_null(bin, "IOTIDS_BIN is not set; run the tests through make test");
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && TZ=UTC '%s' %s >out.txt 2>err.txt", genrun_dir, bin, args);
	int st = system(cmd);
	cr_assert(WIFEXITED(st), "iotids did not exit normally: %s", cmd);
	struct run r = {.status = WEXITSTATUS(st)};
	r.out = genrun_slurp(genrun_path("out.txt"), &r.out_len);
	r.err = genrun_slurp(genrun_path("err.txt"), NULL);
	cr_assert(r.out && r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Each line of text as a JSON document (every one must parse). */
static json_t *json_lines(const char *text, const char *where)
{
	json_t *all = json_array();
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		cr_assert_not_null(nl, "%s: last line not ended", where);
		json_error_t e;
		json_t *o = json_loadb(line, (size_t)(nl - line), 0, &e);
		cr_assert_not_null(o, "%s: not JSON (%s): %.*s", where, e.text, (int)(nl - line), line);
		check_json_strings(o, where);
		json_array_append_new(all, o);
		line = nl + 1;
	}
	return all;
}

static json_t *file_json_lines(const char *file)
{
	char *text = genrun_slurp(genrun_path(file), NULL);
	cr_assert_not_null(text, "%s", file);
	json_t *all = json_lines(text, file);
	free(text);
	return all;
}

/* The string at a dotted path of o; "" when there is none (a test that
 * finds a field missing fails on its value, it does not crash). */
static const char *str(json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	const char *v = json_string_value(json_object_get(o, path));
	return v ? v : "";
}

/* A MAC as the JSON has it (eight results stay valid at once). */
static const char *mac(const uint8_t m[6])
{
	static char buf[8][18];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf[i];
}

/* The first object of lines of type (any when NULL) whose field (a dotted
 * path) is value (any when NULL), or NULL. */
static json_t *find(json_t *lines, const char *type, const char *field, const char *value)
{
	size_t i;
	json_t *o;
	json_array_foreach(lines, i, o) {
		if ((type && strcmp(str(o, "type"), type)) || (value && strcmp(str(o, field), value)))
			continue;
		return o;
	}
	return NULL;
}

/* The alerts of a run as "kind mac" strings, sorted. */
#define KEY_LEN 64
static int cmp_key(const void *a, const void *b)
{
	return strcmp(a, b);
}

static size_t alert_keys(json_t *alerts, char keys[][KEY_LEN], size_t max)
{
	size_t i, n = 0;
	json_t *a;
	json_array_foreach(alerts, i, a) {
		cr_assert_lt(n, max);
		snprintf(keys[n++], KEY_LEN, "%s %s", str(a, "kind"), str(a, "device.mac"));
	}
	qsort(keys, n, KEY_LEN, cmp_key);
	return n;
}

/* The replay every JSON test reads: alerts to a file, devices and flows on
 * stdout. */
static json_t *replay_json(const char *pcap, const char *alerts, json_t **lines)
{
	struct run r = iotids("replay --learn-for " LEARN " --alerts %s --json --devices --flows %s", alerts, pcap);
	cr_assert_eq(r.status, 0, "replay %s: %s", pcap, r.err);
	*lines = json_lines(r.out, pcap);
	run_free(&r);
	return file_json_lines(alerts);
}

/* ---- the text helpers tables and JSON rely on ---- */

Test(hostout, invisible_and_reordering_characters_are_escaped_like_controls)
{
	char out[64];
	text_sanitize(out, sizeof(out), (const uint8_t *)"a\xe2\x80\xae" "b\xe2\x80\x8b" "c", 9);
	cr_assert_str_eq(out, "a\\xe2\\x80\\xaeb\\xe2\\x80\\x8bc", "a right-to-left override and a zero-width space");
	text_sanitize(out, sizeof(out), (const uint8_t *)"\xe2\x80\xa8\xef\xbb\xbf\xf3\xa0\x80\x81", 10);
	cr_assert_str_eq(out, "\\xe2\\x80\\xa8\\xef\\xbb\\xbf\\xf3\\xa0\\x80\\x81", "line separator, BOM, a tag");
	text_sanitize(out, sizeof(out), (const uint8_t *)"\xe2\x80\x99\xe2\x80\xa6", 6);
	cr_assert_str_eq(out, "\xe2\x80\x99\xe2\x80\xa6", "a quotation mark and an ellipsis are text");
}

Test(hostout, safe_text_is_copied_as_it_is_and_anything_else_is_made_safe)
{
	char out[64];
	const char *safe = "cam\\x1b[31m\xc3\xa9";
	cr_assert(text_is_safe(safe));
	cr_assert_eq(text_copy(out, sizeof(out), safe), strlen(safe));
	cr_assert_str_eq(out, safe, "escapes already made are kept");
	cr_assert_not(text_is_safe("a\\b"));
	text_copy(out, sizeof(out), "a\\b\x1b\xff");
	cr_assert_str_eq(out, "a\\x5cb\\x1b\\xff", "a lone backslash, a control, a bad byte");
	text_copy(out, sizeof(out), "ab\\x4");
	cr_assert_str_eq(out, "ab", "an escape the end cut is dropped");
	text_copy(out, sizeof(out), "ab\xe4\xb8");
	cr_assert_str_eq(out, "ab", "a character the end cut is dropped");
	text_copy(out, sizeof(out), "\xe4\xb8" "ab");
	cr_assert_str_eq(out, "\\xe4\\xb8ab", "elsewhere, bytes that are not a character are escaped");
	char buf[8];
	cr_assert_eq(text_safe(buf, sizeof(buf), safe), safe, "safe text is not copied");
	cr_assert_str_eq(text_safe(buf, sizeof(buf), "\x01\x02"), "\\x01");
	char *dup = text_safe_dup("\x1b[2J\x1b[2J");
	cr_assert_str_eq(dup, "\\x1b[2J\\x1b[2J", "a copy of its own is never cut");
	free(dup);
}

/* Display columns of s, as a terminal in UTF-8 counts them. */
static size_t columns(const char *s, size_t n)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	size_t cols = 0;
	for (size_t i = 0; i < n;) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		cr_assert(k != (size_t)-1 && k != (size_t)-2 && k != 0, "not UTF-8 at %zu: %s", i, s);
		int w = wcwidth(wc);
		cols += w < 0 ? 1 : (size_t)w;
		i += k;
	}
	return cols;
}

Test(hostout, a_cell_is_padded_or_cut_with_an_ellipsis_at_a_character_boundary)
{
	char out[64];
	text_cell(out, sizeof(out), "plug", 8);
	cr_assert_str_eq(out, "plug    ");
	text_cell(out, sizeof(out), "exactly8", 8);
	cr_assert_str_eq(out, "exactly8", "what fits is not cut");
	text_cell(out, sizeof(out), "longer-than-8", 8);
	cr_assert_str_eq(out, "longer-\xe2\x80\xa6", "seven columns and the ellipsis");
	text_cell(out, sizeof(out), "ab\\x1bcd", 5);
	cr_assert_str_eq(out, "ab\xe2\x80\xa6  ", "an escape is never cut: it goes whole, and the cell is padded");
	text_cell(out, sizeof(out), "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad", 4);
	cr_assert_str_eq(out, "\xe4\xb8\xad\xe2\x80\xa6 ", "a wide character that does not fit leaves a space");
	cr_assert_eq(columns(out, strlen(out)), 4);
	text_cell(out, sizeof(out), "caf\xc3\xa9\x1b", 8);
	cr_assert_str_eq(out, "caf\xc3\xa9\\x1b", "made safe first: the escape takes its 4 columns");
	char tiny[12];
	text_cell(tiny, sizeof(tiny), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6);
	cr_assert_str_eq(tiny, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6  ", "12 bytes do not fit in 12 with the NUL");
	cr_assert_eq(columns(tiny, strlen(tiny)), 6, "a short buffer still gives a whole cell: %s", tiny);
	cr_assert_null(unsafe(tiny, strlen(tiny)));
}

/* ---- JSON: alerts, devices, flows ---- */

Test(hostout, json_lines_parse_carry_only_safe_text_and_keep_every_alert_of_the_clean_capture)
{
	json_t *hl, *cl;
	json_t *ha = replay_json("hostile.pcap", "a-hostile.json", &hl);
	json_t *ca = replay_json("clean.pcap", "a-clean.json", &cl);
	char hk[16][KEY_LEN], ck[16][KEY_LEN];
	size_t nh = alert_keys(ha, hk, 16), nc = alert_keys(ca, ck, 16);
	/* One alert per new destination, and the device that joined late. */
	cr_assert_eq(nc, 4, "the clean capture raises %zu alerts", nc);
	cr_assert_eq(nh, nc, "hostile names changed the alerts: %zu, not %zu", nh, nc);
	for (size_t i = 0; i < nc; i++)
		cr_expect_str_eq(hk[i], ck[i], "alert %zu", i);
	char want[KEY_LEN];
	snprintf(want, sizeof(want), "new_device %s", mac(MAC_D));
	cr_expect_str_eq(hk[0], want);
	const char *macs[] = {mac(MAC_C), mac(MAC_B), mac(MAC_A)}; /* sorted: 70:, c0:, d8: */
	for (int i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "unexpected_destination %s", macs[i]);
		cr_expect_str_eq(hk[1 + i], want);
	}
	/* The same devices and flows, field for field present. */
	cr_assert_eq(json_array_size(hl), json_array_size(cl));
	for (size_t i = 0; i < json_array_size(hl); i++) {
		json_t *h = json_array_get(hl, i), *c = json_array_get(cl, i);
		cr_assert_eq(json_object_size(h), json_object_size(c), "line %zu lost a field", i);
		const char *key;
		json_t *v;
		json_object_foreach(c, key, v)
			cr_assert_not_null(json_object_get(h, key), "line %zu has no %s", i, key);
	}
	json_decref(ha);
	json_decref(ca);
	json_decref(hl);
	json_decref(cl);
}

static json_t *evidence(json_t *dev, const char *source)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(dev, "evidence"), i, e)
		if (!strcmp(str(e, "source"), source))
			return e;
	return NULL;
}

static bool has_name(json_t *dev, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(dev, "names"), i, n)
		if (!strcmp(json_string_value(n), name))
			return true;
	return false;
}

/* The text a safe text cut at its end stands for: a prefix of full. */
static void expect_prefix(const char *got, const char *full, size_t at_least, const char *what)
{
	cr_assert_not_null(got, "%s missing", what);
	cr_assert_geq(strlen(got), at_least, "%s: only '%s'", what, got);
	cr_assert(!strncmp(got, full, strlen(got)), "%s: '%s' is not a beginning of '%s'", what, got, full);
}

Test(hostout, hostile_names_in_json_read_as_the_escaped_bytes_the_devices_sent)
{
	json_t *lines, *alerts = replay_json("hostile.pcap", "a.json", &lines);
	/* DHCP: hostname and vendor class, as sent, escaped. */
	json_t *a = find(lines, "device", "mac", mac(MAC_A));
	cr_assert_not_null(a);
	cr_expect_str_eq(str(a, "hostname"), expect_field(&hw.host_a, FIELD_CAP));
	cr_expect(strstr(str(a, "hostname"), "--\\x5cback\\x0a\\x0d\\x09\\x1b[31mred") != NULL, "%s", str(a, "hostname"));
	cr_expect(strstr(str(a, "hostname"), "\\xe2\\x80\\xaertl\\xe2\\x80\\x8b") != NULL, "bidi and zero-width escaped");
	cr_expect_str_eq(str(evidence(a, "dhcp_vendor_class"), "value"), expect_field(&hw.vendor_a, FIELD_CAP));
	cr_expect_str_eq(str(evidence(a, "dhcp_vendor_class"), "value"), "udhcp \\x5cx41 \\x1b]0;pwned\\x07 \\xff\\xfe \\x5c",
			 "an escape sent as text is not taken for one");
	/* DNS: a learned name, and the 255-byte one. */
	cr_expect(has_name(a, expect_dns(&hw.learn_a)), "names lack %s", expect_dns(&hw.learn_a));
	const char *huge = expect_dns(&hw.new_a);
	cr_expect(has_name(a, huge), "names lack the 255-byte name");
	cr_expect_gt(strlen(huge), 750, "every label byte but the first label's escaped: %zu", strlen(huge));
	cr_expect(strstr(huge, ".\\x2e\\x2e\\x2e") && strstr(huge, ".\\x5c\\x5c\\x5c") && strstr(huge, ".\\x01\\x02"),
		  "the all-dots, all-backslashes and control labels: %s", huge);
	/* mDNS: B's host name (case kept, .local gone), instance, model. */
	json_t *b = find(lines, "device", "mac", mac(MAC_B));
	cr_assert_not_null(b);
	cr_expect_str_eq(str(b, "hostname"), expect_name(&hw.mdns_host_b, false));
	cr_expect_gt(strlen(str(b, "hostname")), 255, "longer than a fixed buffer of 256");
	char inst[TEXT_MAX];
	expect(inst, sizeof(inst), hw.mdns_inst_b.b, hw.mdns_inst_b.n, true);
	size_t used = strlen(inst);
	snprintf(inst + used, sizeof(inst) - used, "._hap._tcp.local");
	cr_expect_str_eq(str(evidence(b, "mdns_instance"), "value"), inst);
	cr_expect(strncmp(inst, "Living\\x2eRoom\\x0a", 17) == 0, "a dot inside a label is \\x2e: %s", inst);
	struct name model = {.n = 0};
	put_bytes(&model, hw.txt_b.b + 3, hw.txt_b.n - 3);
	cr_expect_str_eq(str(evidence(b, "mdns_model"), "value"), expect_field(&model, TEXT_MAX));
	/* SSDP: SERVER whole, USN up to "::". */
	cr_expect_str_eq(str(evidence(b, "ssdp_server"), "value"), expect_field(&hw.server_b, FIELD_CAP));
	struct name usn = {.n = 0};
	for (size_t i = 0; i + 1 < hw.usn_b.n && !(hw.usn_b.b[i] == ':' && hw.usn_b.b[i + 1] == ':'); i++)
		put_bytes(&usn, hw.usn_b.b + i, 1);
	cr_expect_str_eq(str(evidence(b, "ssdp_usn"), "value"), expect_field(&usn, FIELD_CAP));
	/* TLS SNI and HTTP Host: what nDPI keeps, then escaped. */
	cr_expect(has_name(b, expect_server_name(&hw.sni_new_b, true)), "names lack %s",
		  expect_server_name(&hw.sni_new_b, true));
	json_t *c = find(lines, "device", "mac", mac(MAC_C));
	cr_expect(has_name(c, expect_server_name(&hw.host_new_c, false)), "names lack %s",
		  expect_server_name(&hw.host_new_c, false));
	json_t *f = find(lines, "flow", "name", expect_server_name(&hw.sni_new_b, true));
	cr_assert_not_null(f, "no flow named by the long SNI");
	cr_expect_str_eq(str(f, "name_source"), "sni");

	/* The alerts say it too: the flow's name whole; what the alert is
	 * about, when the detector's buffer cut it, a beginning of it. */
	json_t *x = find(alerts, "alert", "device.mac", mac(MAC_A));
	cr_assert_not_null(x);
	cr_expect_str_eq(str(x, "device.hostname"), str(a, "hostname"));
	cr_expect_str_eq(str(x, "flow.name"), huge);
	char full[TEXT_MAX];
	snprintf(full, sizeof(full), "%s:443/tcp", huge);
	expect_prefix(str(x, "about"), full, 200, "about");
	expect_prefix(str(json_array_get(json_object_get(x, "reasons"), 0), "observed"), huge, 200, "observed");
	x = find(alerts, "alert", "device.mac", mac(MAC_C));
	cr_assert_not_null(x);
	snprintf(full, sizeof(full), "%s:80/tcp", expect_server_name(&hw.host_new_c, false));
	cr_expect_str_eq(str(x, "about"), full);
	cr_expect_str_eq(str(x, "flow.name"), expect_server_name(&hw.host_new_c, false));
	x = find(alerts, "alert", "device.mac", mac(MAC_B));
	cr_expect_str_eq(str(x, "device.hostname"), str(b, "hostname"));
	x = find(alerts, "alert", "device.mac", mac(MAC_D));
	cr_assert_not_null(x);
	cr_expect_str_eq(str(x, "kind"), "new_device");
	cr_expect_str_eq(str(x, "device.hostname"), expect_field(&hw.host_d, FIELD_CAP));
	size_t hn = strlen(str(x, "device.hostname"));
	cr_expect(hn > 255 - 4 && hn <= 255, "255 hostile bytes, cut to 255 at a character boundary: %zu", hn);
	json_decref(alerts);
	json_decref(lines);
}

/* ---- text for a terminal ---- */

/* Every line of out is safe text: no control byte but the newline ending
 * it, no ESC, no DEL, no C1 or format character, no invalid UTF-8. */
static void check_terminal(const struct run *r, const char *what)
{
	for (const char *line = r->out; *line;) {
		const char *nl = strchr(line, '\n');
		cr_assert_not_null(nl, "%s: last line not ended", what);
		const char *why = unsafe(line, (size_t)(nl - line));
		cr_assert_null(why, "%s: %s in: %.*s", what, why, (int)(nl - line), line);
		line = nl + 1;
	}
	cr_assert_eq(strlen(r->out), r->out_len, "%s: a NUL byte reached the terminal", what);
}

/* The byte offset of display column col in line (which must start a
 * character there). */
static size_t at_column(const char *line, size_t len, size_t col)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	size_t c = 0, i = 0;
	while (c < col) {
		wchar_t wc;
		cr_assert_lt(i, len, "the line ends before column %zu: %.*s", col, (int)len, line);
		size_t k = mbrtowc(&wc, line + i, len - i, &st);
		cr_assert(k != (size_t)-1 && k != (size_t)-2 && k != 0);
		int w = wcwidth(wc);
		c += w < 0 ? 1 : (size_t)w;
		i += k;
	}
	cr_assert_eq(c, col, "column %zu falls inside a wide character: %.*s", col, (int)len, line);
	return i;
}

/* What a column of width w shows of safe text s: s and spaces, or what
 * fits in w - 1 columns (whole escapes and characters) and an ellipsis. */
static void expect_cell(char *out, size_t cap, const char *s, size_t w)
{
	size_t n = strlen(s), total = columns(s, n);
	size_t o = 0, cols = 0, budget = total <= w ? w : w - 1;
	for (size_t i = 0; i < n;) {
		size_t k = s[i] == '\\' ? 4 : (size_t)mblen(s + i, n - i);
		size_t kw = columns(s + i, k);
		if (cols + kw > budget)
			break;
		cr_assert_lt(o + k, cap);
		memcpy(out + o, s + i, k);
		o += k;
		cols += kw;
		i += k;
	}
	if (total > w) {
		memcpy(out + o, "\xe2\x80\xa6", 3);
		o += 3;
		cols++;
	}
	while (cols++ < w)
		out[o++] = ' ';
	out[o] = '\0';
}

/* A column of a text table: its header line, the column's title, the next
 * column's, and its width. */
struct table {
	const char *header;  /* the header line */
	const char *name, *next;
	size_t width;
};

/* In row, the column's cell (up to where the header puts the next column)
 * is what expect_cell makes of value and a space, and the next column
 * starts with next_text (unless NULL). */
static void check_cell(const struct table *t, const char *row, size_t len, const char *value, const char *next_text)
{
	const char *name = strstr(t->header, t->name), *next = strstr(t->header, t->next);
	cr_assert(name && next, "no %s or %s in %s", t->name, t->next, t->header);
	size_t from = (size_t)(name - t->header), to = (size_t)(next - t->header);
	cr_assert_eq(to - from, t->width + 1, "%s is %zu columns and a space", t->name, t->width);
	size_t a = at_column(row, len, from), b = at_column(row, len, to);
	char want[TEXT_MAX];
	expect_cell(want, sizeof(want), value, t->width);
	cr_expect(b - a == strlen(want) + 1 && !strncmp(row + a, want, b - a - 1) && row[b - 1] == ' ',
		  "%s cell '%.*s', expected '%s '", t->name, (int)(b - a), row + a, want);
	if (next_text)
		cr_expect(!strncmp(row + b, next_text, strlen(next_text)), "%s column: '%.*s', expected '%s'", t->next,
			  (int)(len - b), row + b, next_text);
}

/* The first line of text that starts with prefix; its length in *len. */
static const char *line_starting(const char *text, const char *prefix, size_t *len)
{
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		if (!nl)
			break;
		if (!strncmp(line, prefix, strlen(prefix))) {
			*len = (size_t)(nl - line);
			return line;
		}
		line = nl + 1;
	}
	cr_assert_fail("no line starts with %s", prefix);
	return NULL;
}

Test(hostout, the_device_table_and_alert_lines_send_no_control_bytes_and_keep_their_columns)
{
	json_t *lines, *alerts = replay_json("hostile.pcap", "a.json", &lines);
	struct run r = iotids("replay --learn-for " LEARN " --devices hostile.pcap");
	cr_assert_eq(r.status, 0, "%s", r.err);
	check_terminal(&r, "replay --devices");
	size_t hl;
	const char *header = line_starting(r.out, "DEVICE ", &hl);
	struct table vendor = {header, "VENDOR", "HOSTNAME", 24}, host = {header, "HOSTNAME", "KIND", 20};
	const char *macs[] = {mac(MAC_A), mac(MAC_B), mac(MAC_C), mac(MAC_D)};
	for (int i = 0; i < 4; i++) {
		json_t *d = find(lines, "device", "mac", macs[i]);
		size_t len;
		const char *row = line_starting(r.out, macs[i], &len);
		check_cell(&vendor, row, len, str(d, "vendor"), NULL);
		check_cell(&host, row, len, str(d, "hostname"), str(d, "kind"));
	}
	/* An alert is one line, whatever its names hold. */
	size_t n = 0;
	for (const char *p = strstr(r.out, "ALERT "); p; p = strstr(p + 1, "\nALERT "))
		n++;
	cr_expect_eq(n, json_array_size(alerts), "one line per alert");
	run_free(&r);
	r = iotids("replay --learn-for " LEARN " --flows --windows hostile.pcap");
	cr_assert_eq(r.status, 0, "%s", r.err);
	check_terminal(&r, "replay --flows --windows");
	cr_expect(strstr(r.out, expect_dns(&hw.new_a)) != NULL, "the flow table names the flow in full");
	run_free(&r);
	json_decref(alerts);
	json_decref(lines);
}

/* ---- the store, and the commands that read it ---- */

Test(hostout, the_store_gives_back_hostile_names_as_they_were_written_and_its_tables_keep_their_columns)
{
	struct run r = iotids("replay --learn-for " LEARN " --db s.db --alerts a.json --json --devices hostile.pcap");
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *lines = json_lines(r.out, "replay --db");
	run_free(&r);
	json_t *alerts = file_json_lines("a.json");
	const char *macs[] = {mac(MAC_A), mac(MAC_B), mac(MAC_C), mac(MAC_D)};

	/* profile list --json and show --json: the hostnames written. */
	r = iotids("profile list --db s.db --json");
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *rows = json_lines(r.out, "profile list --json");
	run_free(&r);
	for (int i = 0; i < 4; i++) {
		json_t *d = find(lines, "device", "mac", macs[i]), *row = find(rows, NULL, "device", macs[i]);
		cr_assert_not_null(row, "%s not listed", macs[i]);
		cr_expect_str_eq(str(row, "hostname"), str(d, "hostname"), "%s", macs[i]);
		r = iotids("profile show --db s.db --json %s", macs[i]);
		cr_assert_eq(r.status, 0, "%s", r.err);
		json_t *p = json_lines(r.out, "profile show --json");
		cr_expect_str_eq(str(json_array_get(p, 0), "hostname"), str(d, "hostname"), "%s", macs[i]);
		json_decref(p);
		run_free(&r);
	}
	r = iotids("profile show --db s.db --json %s", mac(MAC_A));
	json_t *pa = json_lines(r.out, "profile show --json");
	run_free(&r);
	json_t *dest = json_array_get(json_object_get(json_array_get(pa, 0), "destinations"), 0);
	cr_expect_str_eq(str(dest, "destination"), expect_dns(&hw.learn_a), "the learned name as the replay saw it");
	json_decref(pa);

	/* profile list as a table: vendor and hostname cells, state after. */
	r = iotids("profile list --db s.db");
	cr_assert_eq(r.status, 0, "%s", r.err);
	check_terminal(&r, "profile list");
	size_t len;
	const char *header = line_starting(r.out, "DEVICE ", &len);
	struct table vendor = {header, "VENDOR", "HOSTNAME", 24}, host = {header, "HOSTNAME", "STATE", 20};
	for (int i = 0; i < 4; i++) {
		json_t *d = find(lines, "device", "mac", macs[i]), *row = find(rows, NULL, "device", macs[i]);
		const char *line = line_starting(r.out, macs[i], &len);
		check_cell(&vendor, line, len, str(d, "vendor"), NULL);
		check_cell(&host, line, len, str(d, "hostname"), str(row, "state"));
	}
	run_free(&r);

	/* profile show: the destination table keeps its columns. */
	r = iotids("profile show --db s.db %s", mac(MAC_C));
	cr_assert_eq(r.status, 0, "%s", r.err);
	check_terminal(&r, "profile show");
	header = line_starting(r.out, "      DESTINATION", &len);
	struct table dcol = {header, "DESTINATION", "SERVICE", 40};
	const char *line = line_starting(r.out, "      net", &len);
	check_cell(&dcol, line, len, expect_server_name(&hw.host_old_c, false), "80/tcp");
	run_free(&r);
	const char *more[] = {"profile history", "profile diff", "profile show"};
	for (int i = 0; i < 3; i++) {
		r = iotids("%s --db s.db %s", more[i], mac(MAC_B));
		cr_assert_eq(r.status, 0, "%s: %s", more[i], r.err);
		check_terminal(&r, more[i]);
		cr_expect(strstr(r.out, i ? mac(MAC_B) : "learning ended") != NULL, "%s: %s", more[i], r.out);
		run_free(&r);
	}

	/* alerts list: as written (JSON), and as a table. */
	r = iotids("alerts list --db s.db --json");
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *stored = json_lines(r.out, "alerts list --json");
	cr_assert(json_equal(stored, alerts), "the store changed the alerts");
	run_free(&r);
	r = iotids("alerts list --db s.db");
	cr_assert_eq(r.status, 0, "%s", r.err);
	check_terminal(&r, "alerts list");
	header = line_starting(r.out, "TIME ", &len);
	struct table name = {header, "NAME", "SCORE", 20};
	size_t i;
	json_t *a;
	json_array_foreach(alerts, i, a) {
		char score[16];
		snprintf(score, sizeof(score), "%5.2f", json_real_value(json_object_get(a, "score")));
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%.19s", str(a, "ts"));
		line = line_starting(r.out, prefix, &len);
		check_cell(&name, line, len, str(a, "device.hostname"), score);
	}
	run_free(&r);
	json_decref(stored);
	json_decref(rows);
	json_decref(alerts);
	json_decref(lines);
}

/* ---- Redis ---- */

/* Each line of a file, as a string. */
static json_t *raw_lines(const char *file)
{
	char *text = genrun_slurp(genrun_path(file), NULL);
	cr_assert_not_null(text, "%s", file);
	json_t *all = json_array();
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		json_array_append_new(all, json_stringn(line, (size_t)(nl - line)));
	}
	free(text);
	return all;
}

/* A reply string as JSON: it must be safe text to be taken at all. */
static void check_reply_text(const redisReply *r, const char *what)
{
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s", what);
	const char *why = unsafe(r->str, r->len);
	cr_expect_null(why, "%s: %s: %.*s", what, why, (int)r->len, r->str);
}

Test(hostout, redis_gets_the_same_valid_json_on_the_stream_and_the_channel_and_safe_device_hashes)
{
	redisrun_start(&srv, genrun_dir, false);
	redisContext *sub = redisrun_connect(&srv);
	/* A guard against a hang, not a measure: the replay takes a second. */
	redisSetTimeout(sub, (struct timeval){.tv_sec = 120});
	freeReplyObject(redisrun_cmd(sub, "SUBSCRIBE iotids:alerts"));
	struct run r = iotids("replay --learn-for " LEARN " --alerts a.json --json --devices --redis redis://127.0.0.1:%d"
			      " --redis-spool '%s' hostile.pcap",
			      srv.port, genrun_path("spool"));
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_t *devices = json_lines(r.out, "replay --redis");
	run_free(&r);
	json_t *lines = raw_lines("a.json");
	size_t n = json_array_size(lines);
	cr_assert_eq(n, 4);

	redisContext *c = redisrun_connect(&srv);
	redisReply *x = redisrun_cmd(c, "XRANGE iotids:alerts - +");
	cr_assert_eq(x->type, REDIS_REPLY_ARRAY);
	cr_assert_eq(x->elements, n, "every alert in the stream");
	for (size_t i = 0; i < n; i++) {
		redisReply *f = x->element[i]->element[1];
		const char *line = json_string_value(json_array_get(lines, i));
		bool found = false;
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			if (strcmp(f->element[j]->str, "json")) {
				check_reply_text(f->element[j + 1], f->element[j]->str);
				continue;
			}
			found = true;
			cr_expect(f->element[j + 1]->len == strlen(line) && !memcmp(f->element[j + 1]->str, line, strlen(line)),
				  "entry %zu is not the alert written: %s", i, f->element[j + 1]->str);
			json_t *o = json_loads(f->element[j + 1]->str, 0, NULL);
			cr_assert_not_null(o, "entry %zu: not JSON", i);
			check_json_strings(o, "stream");
			json_decref(o);
		}
		cr_expect(found, "entry %zu has no json field", i);
	}
	freeReplyObject(x);
	for (size_t i = 0; i < n; i++) {
		redisReply *m = NULL;
		cr_assert_eq(redisGetReply(sub, (void **)&m), REDIS_OK, "message %zu: %s", i, sub->errstr);
		cr_assert(m->type == REDIS_REPLY_ARRAY && m->elements == 3);
		cr_expect_str_eq(m->element[2]->str, json_string_value(json_array_get(lines, i)), "message %zu", i);
		freeReplyObject(m);
	}
	/* Device summaries for dashboards: safe text, the names the JSON has
	 * (B's, longer than the buffer it passes through, a beginning of it). */
	const char *macs[] = {mac(MAC_A), mac(MAC_B), mac(MAC_D)};
	for (int i = 0; i < 3; i++) {
		redisReply *h = redisrun_cmd(c, "HGET iotids:device:%s hostname", macs[i]);
		check_reply_text(h, macs[i]);
		const char *want = str(find(devices, "device", "mac", macs[i]), "hostname");
		if (i == 1)
			expect_prefix(h->str, want, 200, "B's hostname");
		else
			cr_expect_str_eq(h->str, want, "%s", macs[i]);
		freeReplyObject(h);
	}
	redisFree(c);
	redisFree(sub);
	json_decref(lines);
	json_decref(devices);
}

/* ---- rules ---- */

Test(hostout, rules_check_shows_what_a_hostile_rules_file_says_as_safe_text)
{
	char dir[300], file[400];
	snprintf(dir, sizeof(dir), "%s/rules.d", genrun_dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	/* A file name a terminal would act on, holding YAML escapes that make
	 * an ESC, a BEL and a right-to-left override. */
	snprintf(file, sizeof(file), "%s/x\x1b[31m\xe2\x80\xae.yaml", dir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("updates:\n  - name: \"bad\\e[31mname\\u202e\"\n    devices: {vendor: \"Tuya*\"}\n"
	      "    hosts: [\"a\\x07.com\"]\n    \"k\\e[2Jey\": 1\n",
	      f);
	cr_assert_eq(fclose(f), 0);
	struct run r = iotids("rules check rules.d");
	cr_expect_eq(r.status, 1, "the file has errors");
	cr_assert_gt(strlen(r.err), 0);
	struct run e = {.out = r.err, .out_len = strlen(r.err)};
	check_terminal(&e, "rules check");
	cr_expect(strstr(r.err, "x\\x1b[31m\\xe2\\x80\\xae.yaml") != NULL, "the file is named, escaped: %s", r.err);
	run_free(&r);
}
