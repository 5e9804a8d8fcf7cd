/*
 * cli — the iotids command line: a table of subcommands, their shared exit
 * codes and the output formats of the features a replay prints.
 */
#ifndef IOTIDS_CLI_H
#define IOTIDS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "detector/detector.h"
#include "features/device.h"
#include "features/domain.h"
#include "features/dpi.h"
#include "features/flow.h"
#include "features/oui.h"
#include "features/window.h"

#define IOTIDS_VERSION "0.1.0"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_RUNTIME = 1, /* bad input, I/O error, interrupted */
	CLI_EXIT_USAGE = 2,  /* wrong arguments or configuration */
};

int cmd_replay(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_rules(int argc, char **argv);
/* iotids rules import-mud, iotids profile export-mud (cli/mud.c). */
int cli_rules_import_mud(int argc, char **argv);
int cli_profile_export_mud(int argc, char **argv);

/* Where the profile commands look for the store without --db. */
#define CLI_DEFAULT_DB "/var/lib/iotids/profiles.db"
/* Exit status of a profile command given an unknown or ambiguous device. */
#define CLI_EXIT_NO_DEVICE 3
/* The exit status for a negative store_error: CLI_EXIT_NO_DEVICE for an
 * unknown or ambiguous device, CLI_EXIT_RUNTIME for the rest. */
int cli_store_exit(int code);

/* RFC 3339 UTC with microseconds: "2026-03-02T06:00:00.000000Z". buf >= 32. */
char *out_time(uint64_t ts_us, char *buf, size_t len);

/* What output needs to turn ids into words; any member may be NULL (nDPI
 * off: no protocol names; no registry: no vendors or domains). */
struct out_ctx {
	const struct dpi *dpi;
	const struct oui_db *oui;
	const struct domain_db *psl;
};

/* One JSON object per line (jansson, compact, insertion order). Each returns
 * 0, or -1 when the object could not be built or written. */
int out_flow_json(FILE *out, const struct out_ctx *c, const struct flow *f, enum flow_end why);
int out_device_json(FILE *out, const struct out_ctx *c, const struct device *d);
int out_window_json(FILE *out, const struct out_ctx *c, const struct dev_window *w);
int out_alert_json(FILE *out, const struct out_ctx *c, const struct det_alert *a);
/* One line a person reads: time, severity, kind, device, what, reasons. */
void out_alert_text(FILE *out, const struct out_ctx *c, const struct det_alert *a);

/* Aligned text tables for people; the header goes first. */
void out_flow_header(FILE *out);
void out_flow_text(FILE *out, const struct out_ctx *c, const struct flow *f, enum flow_end why);
void out_device_header(FILE *out);
void out_device_text(FILE *out, const struct out_ctx *c, const struct device *d);
void out_window_header(FILE *out);
void out_window_text(FILE *out, const struct dev_window *w);

/* An accepted destination as a person writes it: "example.com:443/tcp". */
char *out_accept_text(const struct det_accept_info *a, char *buf, size_t len);

/* Text as a JSON string (null for NULL), made safe text first when it is
 * not (features/text.h): jansson refuses invalid UTF-8, and a hostile name
 * or file name must never cost a field. NULL only out of memory. */
struct json_t *out_json_text(const char *s);
/* The same for bytes that were never made safe (a file name, a message
 * holding one): every byte text_sanitize would escape is escaped, the last
 * ones too, where out_json_text takes a cut-off end for a buffer's cut. */
struct json_t *out_json_bytes(const char *s);

/* The alert as the JSON lines output has it, malloc'd (no newline); NULL
 * out of memory. */
char *out_alert_string(const struct out_ctx *c, const struct det_alert *a);

/* A device's learned profile: JSON (one line), or a block of text with its
 * destinations grouped by registrable domain, peers, services, baselines
 * and an hour-of-week chart. dev, when not NULL, gives its name and vendor;
 * otherwise hostname (may be NULL) names it. */
int out_profile_json(FILE *out, const struct out_ctx *c, const struct det_profile *p, const struct device *dev,
		     const char *hostname);
void out_profile_text(FILE *out, const struct out_ctx *c, const struct det_profile *p, const struct device *dev,
		      const char *hostname);

#endif
