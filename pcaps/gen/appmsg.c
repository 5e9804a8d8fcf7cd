#include "pcaps/gen/appmsg.h"

#include <stdio.h>
#include <string.h>

#include "pcaps/gen/wbuf.h"

#define NTP_EPOCH_OFFSET 2208988800ULL /* 1900-01-01 to 1970-01-01 */

static void ntp_ts(uint8_t *p, uint64_t us)
{
	uint64_t sec = us / 1000000 + NTP_EPOCH_OFFSET;
	uint64_t frac = ((us % 1000000) << 32) / 1000000;
	struct wb b;

	wb_init(&b, p, 8);
	wb_u32(&b, (uint32_t)sec);
	wb_u32(&b, (uint32_t)frac);
}

void app_ntp_client(uint8_t out[APP_NTP_LEN], uint64_t t_us, uint8_t poll)
{
	memset(out, 0, APP_NTP_LEN);
	out[0] = 0x23; /* LI 0, version 4, mode 3 */
	out[2] = poll;
	out[3] = 0xe9; /* precision 2^-23 */
	ntp_ts(out + 40, t_us);
}

void app_ntp_server(uint8_t out[APP_NTP_LEN], const uint8_t req[APP_NTP_LEN], uint64_t rx_us,
		    uint64_t tx_us, uint8_t stratum, const uint8_t refid[4])
{
	memset(out, 0, APP_NTP_LEN);
	out[0] = 0x24; /* LI 0, version 4, mode 4 */
	out[1] = stratum;
	out[2] = req[2];
	out[3] = 0xe7; /* precision 2^-25 */
	out[7] = 0x1a; /* root delay ~0.4 ms */
	out[11] = 0x2f;
	memcpy(out + 12, refid, 4);
	ntp_ts(out + 16, rx_us - (rx_us % 1000000) - 37000000); /* last sync 37 s before */
	memcpy(out + 24, req + 40, 8); /* origin = client's transmit */
	ntp_ts(out + 32, rx_us);
	ntp_ts(out + 40, tx_us);
}

static size_t fmt_ok(int n, size_t cap)
{
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t app_ssdp_notify(char *out, size_t cap, const struct app_ssdp_dev *d, const char *nt)
{
	/* The root-device notification uses the bare uuid as NT and USN. */
	int same = !strcmp(nt, d->uuid);

	return fmt_ok(snprintf(out, cap,
			       "NOTIFY * HTTP/1.1\r\n"
			       "HOST: 239.255.255.250:1900\r\n"
			       "CACHE-CONTROL: max-age=1800\r\n"
			       "LOCATION: %s\r\n"
			       "NT: %s\r\n"
			       "NTS: ssdp:alive\r\n"
			       "SERVER: %s\r\n"
			       "USN: %s%s%s\r\n"
			       "\r\n",
			       d->location, nt, d->server, d->uuid, same ? "" : "::",
			       same ? "" : nt),
		      cap);
}

size_t app_ssdp_msearch(char *out, size_t cap, const char *st, int mx, const char *agent)
{
	return fmt_ok(snprintf(out, cap,
			       "M-SEARCH * HTTP/1.1\r\n"
			       "HOST: 239.255.255.250:1900\r\n"
			       "MAN: \"ssdp:discover\"\r\n"
			       "MX: %d\r\n"
			       "ST: %s\r\n"
			       "USER-AGENT: %s\r\n"
			       "\r\n",
			       mx, st, agent),
		      cap);
}

size_t app_ssdp_reply(char *out, size_t cap, const struct app_ssdp_dev *d, const char *st,
		      const char *date)
{
	int same = !strcmp(st, d->uuid);

	return fmt_ok(snprintf(out, cap,
			       "HTTP/1.1 200 OK\r\n"
			       "CACHE-CONTROL: max-age=1800\r\n"
			       "DATE: %s\r\n"
			       "EXT:\r\n"
			       "LOCATION: %s\r\n"
			       "SERVER: %s\r\n"
			       "ST: %s\r\n"
			       "USN: %s%s%s\r\n"
			       "\r\n",
			       date, d->location, d->server, st, d->uuid, same ? "" : "::",
			       same ? "" : st),
		      cap);
}

size_t app_tuya(uint8_t *out, size_t cap, struct prng *r, uint32_t seq, uint32_t cmd, size_t plen)
{
	struct wb b;

	wb_init(&b, out, cap);
	wb_u32(&b, 0x000055aa);
	wb_u32(&b, seq);
	wb_u32(&b, cmd);
	wb_u32(&b, (uint32_t)(plen + 8)); /* payload + CRC + suffix */
	wb_rand(&b, r, plen);
	wb_u32(&b, prng_u32(r));
	wb_u32(&b, 0x0000aa55);
	return wb_done(&b);
}
