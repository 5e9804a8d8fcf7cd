/*
 * ssdp — SSDP messages (UPnP Device Architecture 2.0, section 1) into the
 * headers that identify a device: SERVER / USER-AGENT (OS, UPnP stack and
 * product), USN (device UUID and type), NT/ST (what it is or looks for),
 * NTS, LOCATION and MAN.
 *
 * The input is the UDP payload (port 1900) and is attacker-controlled: every
 * read goes through features/cursor.h, every value kept is run through
 * text_sanitize, and the number of header lines examined is capped.
 *
 * Choices (the reasons are in ssdp.c):
 *   - Start lines: "NOTIFY * HTTP/1.x", "M-SEARCH * HTTP/1.x" and
 *     "HTTP/1.x 2xx reason", x 0 or 1; methods are case-sensitive (RFC 9110),
 *     runs of spaces or tabs between the parts are accepted.
 *   - Header names are case-insensitive; a repeated header keeps its first
 *     value; a line without ':' (or starting with whitespace, an obsolete
 *     fold) is skipped but counts towards SSDP_MAX_HEADERS.
 *   - Lines end in CRLF or a bare LF; parsing stops at the empty line or the
 *     end of the data.
 */
#ifndef IOTIDS_SSDP_H
#define IOTIDS_SSDP_H

#include <stddef.h>
#include <stdint.h>

/* Sanitised value buffers, with their NUL; longer values are cut at a
 * character boundary. */
#define SSDP_TEXT_MAX 256

/* Header lines examined (skipped ones included). Real devices send about
 * ten; a message with more is reported as SSDP_ERR_FORMAT and the values
 * from the first SSDP_MAX_HEADERS lines are kept. */
#define SSDP_MAX_HEADERS 64

enum ssdp_kind { SSDP_UNKNOWN = 0, SSDP_NOTIFY, SSDP_MSEARCH, SSDP_RESPONSE };

enum ssdp_error {
	SSDP_OK = 0,
	SSDP_ERR_NOT_SSDP = -1, /* the start line is none of the three */
	SSDP_ERR_FORMAT = -2,   /* more than SSDP_MAX_HEADERS header lines */
};

struct ssdp_msg {
	uint8_t kind;                   /* enum ssdp_kind */
	char server[SSDP_TEXT_MAX];     /* SERVER (NOTIFY, responses) */
	char user_agent[SSDP_TEXT_MAX]; /* USER-AGENT (M-SEARCH) */
	char usn[SSDP_TEXT_MAX];        /* USN */
	char nt[SSDP_TEXT_MAX];         /* NT (NOTIFY) */
	char nts[SSDP_TEXT_MAX];        /* NTS: ssdp:alive / ssdp:byebye / ssdp:update */
	char st[SSDP_TEXT_MAX];         /* ST (M-SEARCH, responses) */
	char location[SSDP_TEXT_MAX];   /* LOCATION */
	char man[SSDP_TEXT_MAX];        /* MAN */
};

/*
 * Parses the UDP payload of an SSDP message. out is always initialised
 * (kind SSDP_UNKNOWN, every value ""). Returns SSDP_OK or a negative enum
 * ssdp_error; on SSDP_ERR_FORMAT kind and the values of the lines examined
 * are kept. Values are trimmed of surrounding spaces and tabs, then
 * sanitised; an absent header leaves "".
 */
int ssdp_parse(const uint8_t *p, size_t len, struct ssdp_msg *out) __attribute__((warn_unused_result));

/* "ok", "not_ssdp", "format"; "unknown" for other values. */
const char *ssdp_error_name(int err);

/* "notify", "m-search", "response"; "unknown" otherwise. */
const char *ssdp_kind_name(uint8_t kind);

#endif
