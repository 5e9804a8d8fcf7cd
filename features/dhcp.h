/*
 * dhcp — DHCPv4 messages (RFC 2131, options RFC 2132) into the fields that
 * identify a device: its hostname (12), vendor class (60), parameter request
 * list (55, the OS/firmware fingerprint fingerbank-style tools key on),
 * client identifier (61) and FQDN (81, RFC 4702).
 *
 * The input is the UDP payload (ports 67/68) and is attacker-controlled:
 * every read goes through features/cursor.h, every string kept is run
 * through text_sanitize, and the number of options examined is capped.
 *
 * Choices (the reasons are in dhcp.c):
 *   - Repeated 12, 55, 60, 61 and 81 are concatenated in order (RFC 3396);
 *     repeated fixed-size options (50, 52, 53, 57) keep their first value.
 *   - Option overload (52) is followed: options in file, then in sname.
 *   - A missing end option is tolerated.
 *   - More than DHCP_MAX_OPTIONS options: parsing stops, DHCP_ERR_FORMAT.
 */
#ifndef IOTIDS_DHCP_H
#define IOTIDS_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/ipaddr.h"

/* Sanitised text buffers, with their NUL. Option data is at most 255 bytes,
 * but its escaped or hex form can be longer; it is then cut at a character
 * (or, for 55 and 61, a whole-code) boundary. */
#define DHCP_TEXT_MAX 256

/* Options examined per message (pad excluded, all areas together). Real
 * stacks send 5 to 25; a message with more is reported as DHCP_ERR_FORMAT
 * and the fields decoded from the first DHCP_MAX_OPTIONS are kept. */
#define DHCP_MAX_OPTIONS 128

enum dhcp_error {
	DHCP_OK = 0,
	DHCP_ERR_TRUNCATED = -1, /* the bytes end inside the header, the cookie or an option */
	DHCP_ERR_FORMAT = -2,    /* a field says something impossible (see dhcp_parse) */
	DHCP_ERR_NOT_DHCP = -3,  /* BOOTP without the magic cookie */
};

/* DHCP message types (option 53), RFC 2132 section 9.6. */
#define DHCP_DISCOVER 1
#define DHCP_OFFER 2
#define DHCP_REQUEST 3
#define DHCP_DECLINE 4
#define DHCP_ACK 5
#define DHCP_NAK 6
#define DHCP_RELEASE 7
#define DHCP_INFORM 8

struct dhcp_msg {
	uint8_t op;                        /* 1 BOOTREQUEST, 2 BOOTREPLY */
	uint8_t msg_type;                  /* option 53; 0 when absent */
	uint32_t xid;
	bool has_chaddr;                   /* htype 1 (Ethernet) and hlen 6 */
	uint8_t chaddr[6];
	struct ip_addr ciaddr, yiaddr;     /* 0.0.0.0 (v4-mapped) until decoded */
	bool has_requested_ip;             /* option 50 */
	struct ip_addr requested_ip;
	char hostname[DHCP_TEXT_MAX];      /* option 12, sanitised; "" when absent */
	char vendor_class[DHCP_TEXT_MAX];  /* option 60, sanitised */
	char param_list[DHCP_TEXT_MAX];    /* option 55 as decimal codes joined by ',', e.g. "1,3,6,15,28" */
	char client_id[DHCP_TEXT_MAX];     /* option 61 as lower-case hex bytes joined by ':' (type byte first) */
	char fqdn[DHCP_TEXT_MAX];          /* option 81 domain name, ASCII or wire form (flag E), sanitised;
	                                      a '.' inside a wire-form label is written \x2e */
	uint16_t max_msg_size;             /* option 57, 0 when absent */
};

/*
 * Parses the UDP payload of a DHCPv4 message. out is always initialised
 * (strings "", addresses 0.0.0.0). Returns DHCP_OK or a negative enum
 * dhcp_error; on an error the fields decoded before the fault are kept, and
 * the text fields hold whatever option data was gathered before it.
 *
 * DHCP_ERR_TRUNCATED: fewer than 236 + 4 bytes with the cookie's bytes so far
 * right, or an option in the options field running past the end.
 * DHCP_ERR_NOT_DHCP: the four bytes after the BOOTP header are not 99.130.83.99.
 * DHCP_ERR_FORMAT: op other than 1 or 2; 50, 52, 53 or 57 with the wrong
 * length; 52 with a value other than 1..3; an option running past the end
 * of the file or sname field; a compression pointer or a label past the end
 * in a wire-form FQDN; more than DHCP_MAX_OPTIONS options.
 * A message without option 53 (plain BOOTP with RFC 1497 vendor extensions)
 * is DHCP_OK with msg_type 0.
 */
int dhcp_parse(const uint8_t *p, size_t len, struct dhcp_msg *out) __attribute__((warn_unused_result));

/* "ok", "truncated", "format", "not_dhcp"; "unknown" for other values. */
const char *dhcp_error_name(int err);

/* "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE",
 * "INFORM", and the later types up to 18 ("TLS", RFC 7724); "none" for 0
 * (option 53 absent); "unknown" otherwise. */
const char *dhcp_msg_type_name(uint8_t t);

#endif
