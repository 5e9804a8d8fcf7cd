#include "pcaps/gen/dhcpmsg.h"

#include <string.h>

static void addr(struct wb *b, const uint8_t *a)
{
	if (a)
		wb_bytes(b, a, 4);
	else
		wb_zero(b, 4);
}

void dhcpm_begin(struct wb *b, uint8_t *out, size_t cap, const struct dhcpm_hdr *h)
{
	static const uint8_t cookie[] = {99, 130, 83, 99};

	wb_init(b, out, cap);
	wb_u8(b, h->op);
	wb_u8(b, 1); /* htype Ethernet */
	wb_u8(b, 6); /* hlen */
	wb_u8(b, 0); /* hops */
	wb_u32(b, h->xid);
	wb_u16(b, h->secs);
	wb_u16(b, h->flags);
	addr(b, h->ciaddr);
	addr(b, h->yiaddr);
	addr(b, h->siaddr);
	addr(b, NULL); /* giaddr: no relay */
	wb_bytes(b, h->chaddr, 6);
	wb_zero(b, 10 + 64 + 128); /* chaddr padding, sname, file */
	wb_bytes(b, cookie, sizeof(cookie));
	dhcpm_opt(b, 53, &h->type, 1);
}

void dhcpm_opt(struct wb *b, uint8_t code, const void *data, size_t len)
{
	wb_u8(b, code);
	wb_u8(b, (uint8_t)len);
	wb_bytes(b, data, len);
}

void dhcpm_opt_u32(struct wb *b, uint8_t code, uint32_t v)
{
	wb_u8(b, code);
	wb_u8(b, 4);
	wb_u32(b, v);
}

void dhcpm_opt_str(struct wb *b, uint8_t code, const char *s)
{
	dhcpm_opt(b, code, s, strlen(s));
}

size_t dhcpm_end(struct wb *b)
{
	wb_u8(b, 255);
	if (!b->err && b->len < 300)
		wb_zero(b, 300 - b->len);
	return wb_done(b);
}
