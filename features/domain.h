/*
 * domain — the registrable domain (eTLD+1) of a host name, from the Public
 * Suffix List that Debian's publicsuffix package ships, through libpsl.
 *
 * Private-section rules are honoured: for "bucket.s3.amazonaws.com" the
 * answer is "bucket.s3.amazonaws.com", not "amazonaws.com". IoT devices talk
 * to per-customer hosts under shared clouds (*.s3.amazonaws.com,
 * *.cloudfront.net, *.herokuapp.com, *.azure-devices.net), and a profile
 * keyed on "amazonaws.com" would lump every S3 bucket on the internet
 * together, so a device that starts fetching from another customer's bucket
 * would look unchanged.
 *
 * Names under a top-level label the list does not know follow the list's
 * default rule ("*": the last label is a public suffix), so "nas.lan" gives
 * "nas.lan"; reverse-lookup names give what the list says of them
 * ("4.3.2.1.in-addr.arpa" gives "1.in-addr.arpa").
 *
 * The handle is read-only after domain_open and may be shared by threads.
 */
#ifndef IOTIDS_DOMAIN_H
#define IOTIDS_DOMAIN_H

#include <stddef.h>

#define DOMAIN_DEFAULT_PSL "/usr/share/publicsuffix/public_suffix_list.dat"

/* RFC 1035 section 2.3.4: 255 octets on the wire are 253 characters of
 * text without the trailing dot. A buffer of DOMAIN_MAX_NAME + 1 bytes
 * holds any answer of domain_registrable. */
#define DOMAIN_MAX_NAME 253

struct domain_db;

/*
 * Loads the Public Suffix List at psl_path, in either of the formats libpsl
 * reads (the text list or its compiled DAFSA form). Given a path ending in
 * ".dat" with a ".dafsa" beside it that is no older (Debian's package ships
 * public_suffix_list.dafsa, compiled from the same list), the DAFSA is
 * loaded instead: it is ready to use (about 1 ms) where the text must be
 * parsed (about 20 ms). If the DAFSA cannot be loaded the text is.
 * domain_source tells which file was used.
 *
 * There is no fallback to libpsl's built-in list: a missing or unreadable
 * file is an error, with a message in err naming it. NULL on failure.
 */
struct domain_db *domain_open(const char *psl_path, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees db; NULL is a no-op. */
void domain_close(struct domain_db *db);

/*
 * The registrable domain of name, lower-cased, into buf: "api.tuya.com" ->
 * "tuya.com", "a.b.example.co.uk" -> "example.co.uk". Upper-case letters
 * are accepted and one trailing dot is ignored. Returns buf, or NULL (buf
 * then unspecified) when name has no registrable domain:
 *  - it is a public suffix itself ("com", "co.uk", "s3.amazonaws.com");
 *  - it is empty, or a single label ("router", "localhost");
 *  - it is an mDNS name (last label "local");
 *  - it is an IP literal: IPv6 holds ':', and a name whose last label is all
 *    digits is taken for IPv4 (no top-level domain is numeric);
 *  - it is not a plausible host name: a character other than ASCII letters,
 *    digits, '-', '_' and '.'; an empty label; a label over 63 characters;
 *    more than DOMAIN_MAX_NAME characters.
 * Also NULL when the answer does not fit in len bytes.
 */
const char *domain_registrable(const struct domain_db *db, const char *name, char *buf, size_t len);

/* The file the list was loaded from (see domain_open). */
const char *domain_source(const struct domain_db *db);

#endif
