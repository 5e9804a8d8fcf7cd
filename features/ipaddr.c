#include "features/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void ip_from_v4(struct ip_addr *ip, const uint8_t v4[4])
{
	memcpy(ip->b, v4_mapped, 12);
	memcpy(ip->b + 12, v4, 4);
}

void ip_from_v6(struct ip_addr *ip, const uint8_t v6[16])
{
	memcpy(ip->b, v6, 16);
}

char *ip_format(const struct ip_addr *ip, char *buf, size_t len)
{
	const char *r;
	if (ip_is_v4(ip))
		r = inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len);
	else
		r = inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len);
	if (!r && len > 0)
		buf[0] = '\0';
	return buf;
}

int ip_parse(const char *s, struct ip_addr *ip)
{
	uint8_t raw[16];
	if (inet_pton(AF_INET, s, raw) == 1) {
		ip_from_v4(ip, raw);
		return 0;
	}
	if (inet_pton(AF_INET6, s, raw) == 1) {
		ip_from_v6(ip, raw);
		return 0;
	}
	return -EINVAL;
}

/* Clears every bit past the first bits128 bits. */
static void mask_bits(uint8_t b[16], unsigned bits128)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits128 > i * 8 ? bits128 - i * 8 : 0;
		if (keep >= 8)
			continue;
		b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static unsigned bits128(const struct ip_prefix *p)
{
	return ip_is_v4(&p->addr) ? 96u + p->len : p->len;
}

int ip_prefix_parse(const char *s, struct ip_prefix *p)
{
	char host[IP_STRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (ip_parse(host, &p->addr) != 0)
		return -EINVAL;
	unsigned max = ip_is_v4(&p->addr) ? 32 : 128;
	unsigned long len = max;
	if (slash) {
		const char *d = slash + 1;
		char *end;
		if (*d < '0' || *d > '9')
			return -EINVAL;
		len = strtoul(d, &end, 10);
		if (*end != '\0' || len > max)
			return -EINVAL;
	}
	p->len = (uint8_t)len;
	mask_bits(p->addr.b, bits128(p));
	return 0;
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *ip)
{
	if (ip_is_v4(&p->addr) != ip_is_v4(ip))
		return false;
	struct ip_addr m = *ip;
	mask_bits(m.b, bits128(p));
	return ip_equal(&m, &p->addr);
}

char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len)
{
	char a[IP_STRLEN];
	ip_format(&p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, (unsigned)p->len);
	return buf;
}
