/*
 * appmsg — small cleartext application messages: NTP (RFC 5905), SSDP
 * (UPnP 1.0 discovery over HTTPU) and the framing of the Tuya LAN
 * protocol (TCP 6668) whose payload is AES-encrypted, hence random here.
 */
#ifndef IOTGEN_APPMSG_H
#define IOTGEN_APPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/prng.h"

#define APP_NTP_LEN 48

/* Client request (mode 3) with the transmit timestamp at t_us. */
void app_ntp_client(uint8_t out[APP_NTP_LEN], uint64_t t_us, uint8_t poll);
/* Server reply (mode 4) to req, received at rx_us and sent at tx_us. */
void app_ntp_server(uint8_t out[APP_NTP_LEN], const uint8_t req[APP_NTP_LEN], uint64_t rx_us,
		    uint64_t tx_us, uint8_t stratum, const uint8_t refid[4]);

/* A UPnP device as SSDP describes it. */
struct app_ssdp_dev {
	const char *location; /* URL of the description XML */
	const char *server;   /* SERVER header: "OS/ver UPnP/1.0 product/ver" */
	const char *uuid;     /* "uuid:..." */
	const char *type;     /* "urn:...:device:...:1" */
};

/* NOTIFY ssdp:alive for notification type nt (the USN is derived from the
 * device's uuid and nt). Returns the length, 0 if it does not fit. */
size_t app_ssdp_notify(char *out, size_t cap, const struct app_ssdp_dev *d, const char *nt);
size_t app_ssdp_msearch(char *out, size_t cap, const char *st, int mx, const char *agent);
/* Unicast answer to an M-SEARCH for st. */
size_t app_ssdp_reply(char *out, size_t cap, const struct app_ssdp_dev *d, const char *st,
		      const char *date);

/* One Tuya LAN frame: 55AA prefix, sequence, command, length, encrypted
 * payload of plen bytes, CRC, AA55 suffix. */
size_t app_tuya(uint8_t *out, size_t cap, struct prng *r, uint32_t seq, uint32_t cmd, size_t plen);

#endif
