#include "pcaps/gen/ndmsg.h"

#include <string.h>

#include "pcaps/gen/wbuf.h"

static void lladdr_opt(struct wb *b, uint8_t type, const uint8_t mac[6])
{
	wb_u8(b, type);
	wb_u8(b, 1); /* length in units of 8 bytes */
	wb_bytes(b, mac, 6);
}

size_t ndm_ra(uint8_t *out, size_t cap, const uint8_t mac[6], uint16_t lifetime,
	      const struct ndm_prefix *pfx, size_t npfx)
{
	struct wb b;

	wb_init(&b, out, cap);
	wb_u8(&b, 134);
	wb_u8(&b, 0);
	wb_u16(&b, 0); /* checksum, filled by pkt_icmp6 */
	wb_u8(&b, 64); /* cur hop limit */
	wb_u8(&b, 0);  /* M=0 O=0: addresses by SLAAC */
	wb_u16(&b, lifetime);
	wb_u32(&b, 0); /* reachable time: unspecified */
	wb_u32(&b, 0); /* retrans timer: unspecified */
	lladdr_opt(&b, 1, mac);
	wb_u8(&b, 5); /* MTU */
	wb_u8(&b, 1);
	wb_u16(&b, 0);
	wb_u32(&b, 1500);
	for (size_t i = 0; i < npfx; i++) {
		wb_u8(&b, 3);
		wb_u8(&b, 4);
		wb_u8(&b, pfx[i].len);
		wb_u8(&b, 0xc0); /* L (on-link) and A (autonomous) */
		wb_u32(&b, pfx[i].valid);
		wb_u32(&b, pfx[i].preferred);
		wb_u32(&b, 0);
		wb_bytes(&b, pfx[i].addr, 16);
	}
	return wb_done(&b);
}

size_t ndm_rs(uint8_t *out, size_t cap, const uint8_t *mac)
{
	struct wb b;

	wb_init(&b, out, cap);
	wb_u8(&b, 133);
	wb_u8(&b, 0);
	wb_u16(&b, 0);
	wb_u32(&b, 0);
	if (mac)
		lladdr_opt(&b, 1, mac);
	return wb_done(&b);
}

size_t ndm_ns(uint8_t *out, size_t cap, const uint8_t target[16], const uint8_t *mac)
{
	struct wb b;

	wb_init(&b, out, cap);
	wb_u8(&b, 135);
	wb_u8(&b, 0);
	wb_u16(&b, 0);
	wb_u32(&b, 0);
	wb_bytes(&b, target, 16);
	if (mac)
		lladdr_opt(&b, 1, mac);
	return wb_done(&b);
}

size_t ndm_na(uint8_t *out, size_t cap, const uint8_t target[16], const uint8_t mac[6],
	      bool router, bool solicited)
{
	struct wb b;

	wb_init(&b, out, cap);
	wb_u8(&b, 136);
	wb_u8(&b, 0);
	wb_u16(&b, 0);
	wb_u32(&b, (router ? 0x80000000u : 0) | (solicited ? 0x40000000u : 0) | 0x20000000u);
	wb_bytes(&b, target, 16);
	lladdr_opt(&b, 2, mac);
	return wb_done(&b);
}

void ndm_solicited_node(uint8_t out[16], const uint8_t addr[16])
{
	static const uint8_t base[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};

	memcpy(out, base, 13);
	memcpy(out + 13, addr + 13, 3);
}
