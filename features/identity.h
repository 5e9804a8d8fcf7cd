/*
 * identity — what a device says about itself, as evidence.
 *
 * Every clue is kept as a piece of evidence: its source (DHCP option 12,
 * an mDNS service, an SSDP SERVER header...), its value and when it was
 * first and last seen, so a person (or the detector) can weigh them: a
 * hostname a phone sends over DHCP says more than a name it announces once
 * on mDNS. The MAC vendor is not stored: it follows from the MAC (oui.h).
 *
 * Also kept per device: the destination names it used (what it resolved or
 * reached by SNI), which is how a person recognises a device ("talks to
 * *.tuyaeu.com"). Both lists are capped per device; past a cap new values
 * are counted, not kept (what was seen first is what identifies a device).
 */
#ifndef IOTIDS_IDENTITY_H
#define IOTIDS_IDENTITY_H

#include <stdint.h>

#include "features/device.h"
#include "features/intern.h"

#define IDENT_MAX_EVIDENCE 32
#define IDENT_MAX_NAMES 64

#define IDENT_SOURCES(X)                                                                                      \
	X(DHCP_HOSTNAME, "dhcp_hostname")         /* option 12 */                                              \
	X(DHCP_VENDOR_CLASS, "dhcp_vendor_class") /* option 60 */                                              \
	X(DHCP_FINGERPRINT, "dhcp_fingerprint")   /* option 55, the parameter request list */                  \
	X(DHCP_CLIENT_ID, "dhcp_client_id")       /* option 61 */                                              \
	X(DHCP_FQDN, "dhcp_fqdn")                 /* option 81 */                                              \
	X(MDNS_HOSTNAME, "mdns_hostname")         /* owner of an A/AAAA record it announced */                 \
	X(MDNS_SERVICE, "mdns_service")           /* a DNS-SD service type it announced (_hap._tcp) */         \
	X(MDNS_INSTANCE, "mdns_instance")         /* a DNS-SD instance name it announced */                    \
	X(MDNS_MODEL, "mdns_model")               /* model key of a TXT record it announced (md=, model=...) */ \
	X(SSDP_SERVER, "ssdp_server")             /* SERVER header of its NOTIFY or search answer */           \
	X(SSDP_USN, "ssdp_usn")                   /* USN header */                                             \
	X(SSDP_USER_AGENT, "ssdp_user_agent")     /* USER-AGENT of its M-SEARCH */

#define IDENT_ENUM(id, name) IDENT_##id,
enum ident_source { IDENT_SOURCES(IDENT_ENUM) IDENT_SOURCE_COUNT };
#undef IDENT_ENUM

struct ident_evidence {
	uint8_t source;          /* enum ident_source */
	struct iname *value;
	uint64_t first_us, last_us;
	uint32_t count;
};

struct ident_name {
	struct iname *name;
	uint64_t first_us, last_us;
	uint32_t flows;
};

struct ident_rec {
	uint8_t n_evidence, n_names;
	uint32_t evidence_dropped, names_dropped;
	struct ident_evidence evidence[IDENT_MAX_EVIDENCE]; /* in order of first sighting */
	struct ident_name names[IDENT_MAX_NAMES];
};

struct ident_table;

struct ident_table *ident_new(struct intern *names);
/* Call ident_device_gone for every device first. */
void ident_free(struct ident_table *t);

/* Records value (safe text, see text.h) as evidence of src about d. Empty values are ignored. */
void ident_add(struct ident_table *t, struct device *d, enum ident_source src, const char *value, uint64_t now_us);
/* Records that d started a flow to a destination called name (takes its own reference). */
void ident_add_name(struct device *d, struct iname *name, uint64_t now_us);
void ident_device_gone(struct ident_table *t, struct device *d);

/* NULL when nothing is known of d. */
const struct ident_rec *ident_get(const struct device *d);
/* The name it goes by: its latest DHCP hostname, else its latest mDNS host
 * name (without ".local"), else NULL. */
const char *ident_hostname(const struct device *d, char *buf, size_t len);
const char *ident_source_name(enum ident_source src);

#endif
