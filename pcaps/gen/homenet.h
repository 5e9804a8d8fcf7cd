/*
 * homenet — the shared machinery of the smart-home scenario: the router
 * (gateway, DHCP server, DNS resolver with its own cache, IPv6 router
 * advertisements), the LAN devices' addressing and caches, and the cloud
 * names they resolve.
 *
 * Remote hosts are synthesised per name from a provider table (AWS,
 * CloudFront, Google, Akamai...) of real public prefixes, so addresses,
 * round trips, arriving TTLs and CNAME chains look like those providers'.
 * A name's answer rotates through its address pool each time the router's
 * cache expires (as CDNs do); everything is drawn from the seed.
 *
 * Every hn_* function that talks emits the packets (ARP, DNS, DHCP...) it
 * needs and returns the capture time at which the device can go on, so the
 * behaviours in home.c read as sequences of steps.
 */
#ifndef IOTGEN_HOMENET_H
#define IOTGEN_HOMENET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/ep.h"
#include "pcaps/gen/names.h"
#include "pcaps/gen/prng.h"
#include "pcaps/gen/quicflow.h"
#include "pcaps/gen/sim.h"
#include "pcaps/gen/tcpflow.h"
#include "pcaps/gen/tlsmsg.h"

#define HN_MAX_DEV 8
#define HN_LEASE_S 7200 /* renewals (T1 = 1 h) show up in a 2-hour capture */

enum hn_prov {
	HP_AWS, HP_AMAZON, HP_GOOGLE, HP_CLOUDFRONT, HP_AKAMAI, HP_CLOUDFLARE,
	HP_FASTLY, HP_MICROSOFT, HP_FACEBOOK, HP_APPLE, HP_HOSTING, HP_NETFLIX, HP_ALIYUN, HP_COUNT
};
/* How a name is fronted: its CNAME chain points into that CDN's names. */
enum hn_cdn { HC_NONE, HC_CLOUDFRONT, HC_AKAMAI, HC_FASTLY, HC_ELB };

/* How to build a remote name; zero fields take the provider's defaults. */
struct hn_rspec {
	enum hn_prov prov;
	enum hn_cdn cdn;
	uint32_t ttl;    /* DNS TTL, seconds */
	bool v6;         /* has AAAA records */
	bool quic;       /* serves HTTP/3 */
	bool nx;         /* does not exist: NXDOMAIN */
	uint32_t rtt_ms; /* overrides the provider's round trip */
};

struct hn_remote {
	char name[NAMES_MAXLEN];
	char chain[2][NAMES_MAXLEN + 32]; /* CNAME targets, in order */
	int nchain;
	enum hn_prov prov;
	uint32_t ttl;
	uint8_t v4[6][4];
	int n4, nans;
	uint8_t v6[3][16];
	int n6;
	uint32_t rtt_us;
	uint8_t ip_ttl;   /* TTL its packets arrive with */
	bool nx, quic;
	uint64_t cache_until; /* the router's cache of this name */
	uint32_t rot;
	uint32_t cache_ttl;
};

/* What a device got back from DNS. */
struct hn_answer {
	bool ok4, ok6;
	uint8_t v4[4];
	uint8_t v6[16];
};

struct hn_dcache {
	struct hn_remote *r;
	uint64_t until;
	struct hn_answer a;
};

struct hn_dev {
	const char *kind, *hostname, *vendor, *vendor_class;
	const uint8_t *prl;   /* DHCP parameter request list (option 55) */
	size_t nprl;
	uint8_t mac[6];
	uint8_t ip4[4];
	uint8_t ip_ttl;       /* 64 for Linux stacks, 255 for lwIP */
	bool v6, randomized, tls13, arp_probe;
	uint8_t ll6[16], gua6[16];
	uint32_t lan_rtt_us;
	struct prng rng;
	uint16_t udp_ipid;
	bool up;
	uint64_t arp_until, nd_until;
	struct hn_dcache *dc;
	size_t ndc, dccap;
	char (*names)[NAMES_MAXLEN]; /* names resolved, first-seen order */
	size_t nnames, namescap;
	void *beh;            /* behaviour state (home.c) */
};

struct hn {
	struct sim *sim;
	struct prng rng;
	uint64_t seed, start, end;
	uint8_t gw_mac[6], gw_ip4[4], gw_ll6[16], gw_gua6[16], prefix6[16], ula6[16];
	uint16_t gw_ipid;
	struct hn_dev dev[HN_MAX_DEV];
	size_t ndev;
	struct hn_remote **rem;
	size_t nrem, remcap;
};

int hn_init(struct hn *n, struct sim *s, uint64_t seed, uint64_t start, uint64_t end);
void hn_free(struct hn *n);
/* Derives link-local / global IPv6 addresses (EUI-64, or a random
 * interface id for a randomised MAC) once mac and v6 are set. */
void hn_dev_addrs(struct hn *n, struct hn_dev *d);

/* The remote called name, created on first use from spec (or, when spec
 * is NULL, from what the name suggests: google.com is Google...). NULL
 * only when out of memory (the simulation is then failed). */
struct hn_remote *hn_remote(struct hn *n, const char *name, const struct hn_rspec *spec);

/* ARP for the gateway unless the device's entry is fresh. */
uint64_t hn_arp_gw(struct hn *n, struct hn_dev *d, uint64_t t);
/* The router refreshing its ARP entry for d (unicast who-has). */
uint64_t hn_router_arp(struct hn *n, struct hn_dev *d, uint64_t t);
/* d asks who has the LAN address ip (which `owner` holds) and gets the reply. */
uint64_t hn_arp_lan(struct hn *n, struct hn_dev *d, struct hn_dev *owner, uint64_t t);
/* Neighbor solicitation of the router's link-local address, if stale. */
uint64_t hn_nd_gw(struct hn *n, struct hn_dev *d, uint64_t t);
/* DISCOVER/OFFER/REQUEST/ACK (and RFC 5227 probes for some devices). */
uint64_t hn_dhcp_join(struct hn *n, struct hn_dev *d, uint64_t t);
/* Unicast REQUEST/ACK at T1. */
uint64_t hn_dhcp_renew(struct hn *n, struct hn_dev *d, uint64_t t);
/* After a link flap, d asks to keep its address (INIT-REBOOT), the router,
 * which has lost its leases, refuses (NAK), and d goes through
 * DISCOVER/OFFER/REQUEST/ACK to get new_ip, which becomes its address. */
uint64_t hn_dhcp_readdress(struct hn *n, struct hn_dev *d, uint64_t t, const uint8_t new_ip[4]);
/* DAD, router solicitation and the solicited advertisement. */
uint64_t hn_slaac(struct hn *n, struct hn_dev *d, uint64_t t);
/* Unsolicited router advertisement to all nodes. */
void hn_ra(struct hn *n, uint64_t t);

/* Resolves r for d (A, plus AAAA when want6 and d has IPv6), through the
 * device's cache and the router's; emits the queries when needed. */
uint64_t hn_resolve(struct hn *n, struct hn_dev *d, uint64_t t, struct hn_remote *r, bool want6,
		    struct hn_answer *a);
/* Resolves name and exchanges one NTP request/response with it. */
uint64_t hn_ntp(struct hn *n, struct hn_dev *d, uint64_t t, const char *name);
/* One UDP datagram from the router's own address (IPv4, or its link-local
 * IPv6 address) to dip. */
void hn_router_udp(struct hn *n, uint64_t t, const uint8_t *dmac, const uint8_t *dip, bool v6,
		   uint16_t sport, uint16_t dport, const void *p, size_t len);
/* One UDP datagram from d to a LAN or multicast destination. */
void hn_dev_udp(struct hn *n, struct hn_dev *d, uint64_t t, bool v6, const uint8_t *dip,
		const uint8_t *dmac, uint16_t sport, uint16_t dport, const void *p, size_t len);

/* A TLS connection from a device to a remote. */
struct hn_tls {
	struct tcpf tcp;
	struct tlsm_session ss;
	struct hn_remote *r;
	uint64_t busy;   /* the connection is in use until then */
	bool open;
};

struct hn_tls_opts {
	const char *name;
	const struct hn_rspec *spec; /* for hn_remote() */
	uint16_t port;
	const char *alpn;
	bool prefer6;    /* use IPv6 when the device and the name have it */
	double fail_p;   /* chance the connection is refused (RST) */
	uint32_t up_bps; /* device upload pace; 0: default */
};

/* Resolve, connect, handshake. Returns when application data can flow;
 * c->open is false when the connection was refused. */
uint64_t hn_tls_open(struct hn *n, struct hn_dev *d, struct hn_tls *c, uint64_t t,
		     const struct hn_tls_opts *o);
/* Client sends up plaintext bytes, the server answers down bytes after
 * think_us (down 0: no answer, just ACKs). Returns when the answer is in. */
uint64_t hn_tls_rr(struct hn_tls *c, uint64_t t, size_t up, size_t down, uint64_t think_us);
/* The server pushes bytes unprompted; the client ACKs. */
uint64_t hn_tls_push(struct hn_tls *c, uint64_t t, size_t bytes);
/* close_notify and FIN from `from` (TCPF_C/TCPF_S), or an RST when rst. */
uint64_t hn_tls_close(struct hn_tls *c, uint64_t t, int from, bool rst);

/* An HTTP/3 exchange over QUIC: handshake, request, response, maybe close. */
uint64_t hn_quic_fetch(struct hn *n, struct hn_dev *d, uint64_t t, struct hn_remote *r,
		       const struct hn_answer *a, size_t up, size_t down);

/* A plaintext HTTP/1.1 exchange on port 80 (connectivity checks). */
uint64_t hn_http(struct hn *n, struct hn_dev *d, uint64_t t, const char *name,
		 const struct hn_rspec *spec, const char *req, const char *resp);

/* The registrable part of a name ("bbc.co.uk" of "www.bbc.co.uk"). */
const char *hn_zone(const char *name);

#endif
