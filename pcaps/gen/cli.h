/*
 * cli — argument parsing shared by the iotgen subcommands.
 *
 * Parsers accept the whole string or fail (-EINVAL): "12abc" is not 12.
 * Times are microseconds since the Unix epoch, computed without the C
 * library's time zone machinery so TZ cannot change the output.
 */
#ifndef IOTGEN_CLI_H
#define IOTGEN_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of every subcommand. */
#define CLI_OK 0
#define CLI_RUNTIME 1
#define CLI_USAGE 2

/* Decimal unsigned integer in [min, max]. */
int cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "90s", "30m", "2h", "3d" (a bare number means seconds); > 0. */
int cli_duration(const char *s, uint64_t *out_s);
/* RFC 3339 date-time: 2026-03-02T06:00:00Z, optional fraction, Z or ±hh:mm. */
int cli_rfc3339(const char *s, uint64_t *out_us);
/* Formats whole seconds of out_us as 2026-03-02T06:00:00Z. */
void cli_fmt_time(uint64_t us, char *buf, size_t len);

/* Prints "iotgen CMD: <msg>" on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "iotgen CMD: <msg>" on stderr and returns CLI_RUNTIME. */
int cli_runtime_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The common "--seed N --packets P -o OUT" options of the bulk generators.
 * Returns -1 to go on, or an exit status (0 after --help). */
struct cli_bulk {
	uint64_t seed, packets;
	const char *out;
};
int cli_parse_bulk(int argc, char **argv, const char *cmd, const char *usage,
		   uint64_t max_packets, struct cli_bulk *b);

#endif
