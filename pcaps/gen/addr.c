#include "pcaps/gen/addr.h"

bool addr_is_public4(const uint8_t a[4])
{
	if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
		return false;
	if (a[0] == 100 && (a[1] & 0xc0) == 64) /* 100.64/10 CGNAT */
		return false;
	if (a[0] == 169 && a[1] == 254)
		return false;
	if (a[0] == 172 && (a[1] & 0xf0) == 16)
		return false;
	if (a[0] == 192 && (a[1] == 168 || (a[1] == 0 && (a[2] == 0 || a[2] == 2)) ||
			    (a[1] == 88 && a[2] == 99)))
		return false;
	if (a[0] == 198 && ((a[1] & 0xfe) == 18 || (a[1] == 51 && a[2] == 100)))
		return false;
	if (a[0] == 203 && a[1] == 0 && a[2] == 113)
		return false;
	/* Host addresses only: no .0 network or .255 broadcast look-alikes. */
	return a[3] != 0 && a[3] != 255;
}

void addr_public4(struct prng *r, uint8_t out[4])
{
	do {
		uint32_t v = prng_u32(r);

		out[0] = (uint8_t)(v >> 24);
		out[1] = (uint8_t)(v >> 16);
		out[2] = (uint8_t)(v >> 8);
		out[3] = (uint8_t)v;
	} while (!addr_is_public4(out));
}
