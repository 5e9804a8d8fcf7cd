/*
 * dhcpmsg — DHCP messages in the real BOOTP layout (RFC 2131/2132): the
 * 236-byte fixed header, the magic cookie, options, END, and padding to
 * the 300-byte BOOTP minimum that many clients and servers apply.
 */
#ifndef IOTGEN_DHCPMSG_H
#define IOTGEN_DHCPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/wbuf.h"

#define DHCPM_DISCOVER 1
#define DHCPM_OFFER 2
#define DHCPM_REQUEST 3
#define DHCPM_ACK 5

#define DHCPM_BROADCAST 0x8000

struct dhcpm_hdr {
	uint8_t op;             /* 1 request, 2 reply */
	uint8_t type;           /* option 53 */
	uint32_t xid;
	uint16_t secs, flags;
	const uint8_t *ciaddr;  /* 4 bytes each; NULL means 0.0.0.0 */
	const uint8_t *yiaddr;
	const uint8_t *siaddr;
	const uint8_t *chaddr;  /* 6-byte MAC */
};

/* Starts a message in out: header, cookie and option 53. */
void dhcpm_begin(struct wb *b, uint8_t *out, size_t cap, const struct dhcpm_hdr *h);
void dhcpm_opt(struct wb *b, uint8_t code, const void *data, size_t len);
void dhcpm_opt_u32(struct wb *b, uint8_t code, uint32_t v);
void dhcpm_opt_str(struct wb *b, uint8_t code, const char *s);
/* Appends END and padding; the message length or 0 on overflow. */
size_t dhcpm_end(struct wb *b);

#endif
