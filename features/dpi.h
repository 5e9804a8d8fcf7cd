/*
 * dpi — application protocols by nDPI (libndpi from Debian), per flow.
 *
 * A TCP or UDP flow gets nDPI state at its first packet with payload
 * (handshakes carry nothing to classify, and a SYN flood then costs no state
 * at all); other protocols (ICMP, IGMP...) at their first packet. It is fed
 * until nDPI is done or DPI_MAX_PACKETS have been given, and its state is
 * freed at once, so a flow whose detection is over costs nothing beyond its
 * table entry. States are capped (max_states); a flow that finds none is
 * left unclassified and counted. The result lives in the flow (l7_*), and
 * the server name nDPI saw (TLS/QUIC SNI, HTTP Host) is handed to the
 * caller to name the flow when DNS did not. A flow that never carried
 * payload (a scan, an unanswered SYN) can be given nDPI's guess from its
 * ports (dpi_guess), as ndpiReader reports it; that is done when the flow is
 * printed, not when it ends, so a SYN flood costs no guess per packet.
 */
#ifndef IOTIDS_DPI_H
#define IOTIDS_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/decode.h"
#include "features/flow.h"

/* Why 32: nDPI classifies almost everything in its first 10 packets; TLS
 * with a long certificate chain may take 15-20. */
#define DPI_MAX_PACKETS 32
/* nDPI keeps at most 79 bytes of a server name (its last 79); as safe text
 * each byte takes at most 4 ("\xHH"), so the name is never cut again. */
#define DPI_HOST_MAX (4 * 79 + 1)

enum dpi_state {
	DPI_WAITING = 0,  /* no payload yet */
	DPI_RUNNING,      /* nDPI state attached */
	DPI_DONE,         /* classified, or nDPI gave up */
	DPI_NO_STATE,     /* no state was free: not classified */
};

struct dpi_result {
	bool finished;             /* detection ended with this call */
	/* enum flow_name_source; NONE: no host. Set as soon as nDPI knows the
	 * protocol and saw the name, which may be before it finishes. */
	uint8_t host_source;
	char host[DPI_HOST_MAX];   /* safe text (see text.h) */
};

struct dpi_stats {
	uint64_t active, peak;     /* flows with nDPI state */
	uint64_t classified;       /* ended with a protocol */
	uint64_t unknown;          /* nDPI gave up without one */
	uint64_t no_state;         /* flows left out: max_states reached */
};

struct dpi;

/* NULL with a message in err on failure. */
struct dpi *dpi_new(uint32_t max_states, char *err, size_t errlen);
void dpi_free(struct dpi *d);

/* Feeds packet m of flow f (TCP and UDP only) until detection ends. */
void dpi_packet(struct dpi *d, struct flow *f, const struct pkt_meta *m, struct dpi_result *out);

/* The flow is ending: ends a running detection with what nDPI has. */
void dpi_flow_end(struct dpi *d, struct flow *f, struct dpi_result *out);

/* True when f was never classified (no payload, or no state was free):
 * its protocol can only be guessed. */
bool dpi_unclassified(const struct flow *f);
/* nDPI's guess for an unclassified flow, from its protocol and ports. */
void dpi_guess(const struct dpi *d, const struct flow *f, uint16_t *master, uint16_t *app, uint16_t *category);

/* "TLS.Amazon", "DNS", "Unknown" ... into buf. */
const char *dpi_proto_name(const struct dpi *d, uint16_t master, uint16_t app, char *buf, size_t len);
const char *dpi_category_name(const struct dpi *d, uint16_t category);

const struct dpi_stats *dpi_stats(const struct dpi *d);

#endif
