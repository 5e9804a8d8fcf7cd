/*
 * mud — RFC 8520 Manufacturer Usage Descriptions, both ways (docs/mud.md).
 *
 * Import turns what a manufacturer says a device does into exceptions of a
 * rules file (docs/rules.md): one per accepted ACE that rules can say
 * exactly. Whatever they cannot say (drop ACEs, manufacturer and model
 * matches, source ports, ICMP types, header fields, unknown keys) makes no
 * rule and is reported with its JSON path: an exception wider than the ACE
 * would hide alerts, so an ACE is taken whole or not at all.
 *
 * Export writes a learned profile as a MUD file a person can review or hand
 * to a MUD manager: its destinations, LAN peers, services and accepted
 * destinations as ACLs, timed by the profile's last event (capture time),
 * so the same profile always gives the same bytes.
 */
#ifndef IOTIDS_MUD_H
#define IOTIDS_MUD_H

#include <stddef.h>

#include "detector/detector.h"

/* Bounds on hostile input; real MUD files are a few KiB. */
#define MUD_MAX_BYTES (1u << 20)
#define MUD_MAX_ACLS 64          /* ACLs, and ACL names per policy */
#define MUD_MAX_ACES 1024        /* ACEs per ACL */
#define MUD_MAX_RULES 4096       /* exceptions made (the rules loader's own cap) */
#define MUD_URL_MAX 1024         /* mud-url and controller URIs */
#define MUD_SYSTEMINFO_MAX 60    /* characters (RFC 8520) */

enum mud_error {
	MUD_ERR_INVALID = -1,  /* not a MUD file RFC 8520 and 8519 allow; err names the JSON path */
	MUD_ERR_USAGE = -2,    /* a bad device selector, URL or systeminfo: the caller's mistake */
	MUD_ERR_NOMEM = -3,
};

/* One thing of the MUD file no rule says: path is its JSON path
 * ("ietf-access-control-list:acls.acl[0].aces.ace[2].matches..."), msg what
 * was done about it. Both are safe text (no control characters). */
typedef void (*mud_report_fn)(void *ctx, const char *path, const char *msg);

/* Reads the MUD file json[0..len) and writes the rules file that says the
 * same, for the devices selector names ("all", or KEY=VALUE with KEY one of
 * mac, oui, vendor, hostname, kind): *yaml_out is malloc'd YAML (the caller
 * frees it). Every construct no rule says goes to report (may be NULL). 0,
 * or a mud_error with the reason in err (nothing in *yaml_out then). */
int mud_import(const char *json, size_t len, const char *selector, char **yaml_out, mud_report_fn report, void *ctx,
	       char *err, size_t errlen) __attribute__((warn_unused_result));

/* Writes the profile p as a MUD file: *json_out is malloc'd JSON, 2-space
 * indented (the caller frees it). mud_url must be an https URL; systeminfo
 * (1 to 60 characters of safe text, text.h) may be NULL for "iotids
 * profile of DEVICE".
 * 0, MUD_ERR_USAGE for a bad URL or systeminfo, or MUD_ERR_NOMEM. */
int mud_export(const struct det_profile *p, const char *mud_url, const char *systeminfo, char **json_out, char *err,
	       size_t errlen) __attribute__((warn_unused_result));

#endif
