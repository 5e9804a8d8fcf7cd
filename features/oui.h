/*
 * oui — the vendor of a MAC address, from the IEEE registries that Debian's
 * ieee-data package ships as CSV.
 *
 * Four registries assign prefixes of three lengths: MA-L (oui.csv, 24 bits),
 * MA-M (mam.csv, 28 bits), MA-S (oui36.csv, 36 bits) and the retired IAB
 * (iab.csv, 36 bits). The shorter blocks are carved out of MA-L blocks
 * registered to "IEEE Registration Authority", so the longest matching
 * prefix names the vendor.
 *
 * The database is loaded once at startup and read-only after, so it may be
 * shared between threads without locking.
 */
#ifndef IOTIDS_OUI_H
#define IOTIDS_OUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUI_DEFAULT_DIR "/usr/share/ieee-data"

/* Why 4096: the longest record in the registries is about 350 bytes (an
 * address over several lines); a longer one means a damaged file, most
 * likely a quote that is never closed and swallows the records after it. */
#define OUI_MAX_RECORD 4096

struct oui_db;

/*
 * Loads the registries found in dir: oui.csv is required; mam.csv,
 * oui36.csv and iab.csv are read when present (a missing one is skipped, an
 * unreadable one is an error).
 *
 * A damaged file is an error, with a message in err naming the file and,
 * where it applies, the line: a file that cannot be read, an empty file, a
 * first line that is not the registry header, a record longer than
 * OUI_MAX_RECORD bytes. A record that cannot be used (fewer than 4 fields,
 * another registry's name, an assignment that is not the registry's number
 * of hex digits, an empty name, a NUL byte, text after a closing quote, a
 * quote left open at the end of the file) is skipped and counted
 * (oui_skipped): one odd line in an upgraded ieee-data must not stop the
 * daemon, and a file cut short loses only its last record. A prefix
 * listed twice keeps its first entry (oui.csv lists a few 1980s prefixes
 * under two or three owners).
 *
 * Returns NULL on failure (err, if not NULL, holds a NUL-terminated message
 * of at most errlen - 1 bytes).
 */
struct oui_db *oui_load(const char *dir, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees db; NULL is a no-op. */
void oui_free(struct oui_db *db);

/*
 * The vendor of mac: the organisation name of the longest registered prefix
 * (36, then 28, then 24 bits), exactly as the registry spells it but trimmed
 * of surrounding whitespace (ASCII and Unicode spaces). "Private" is a real
 * entry and is returned as such. A group (multicast) address is looked up
 * with its group bit cleared, as IEEE assigns group addresses from the same
 * block ("01:00:5e:..." is IANA's).
 *
 * NULL when no prefix is registered, and for locally administered addresses
 * (bit 0x02 of the first octet): their prefix is not a registration. The
 * pointer stays valid until oui_free.
 */
const char *oui_vendor(const struct oui_db *db, const uint8_t mac[6]);

/* True for a locally administered unicast MAC: typically a randomised
 * address (phones' private Wi-Fi addresses), a VM or a container. */
bool oui_mac_is_local(const uint8_t mac[6]);

/* Prefixes loaded, over all registries (duplicates counted once). */
size_t oui_count(const struct oui_db *db);

/* Records skipped as unusable. If where is not NULL it is set to a message
 * "file:line: why" about the first of them, or NULL when none was skipped;
 * it stays valid until oui_free. */
size_t oui_skipped(const struct oui_db *db, const char **where);

/* Bytes of heap the database holds (names and prefix tables). */
size_t oui_bytes(const struct oui_db *db);

#endif
