/*
 * pcapw — streaming writer of classic pcap files.
 *
 * Always linktype EN10MB, snaplen 65535, microsecond timestamps, host byte
 * order (the magic tells readers which). Records go through a large stdio
 * buffer so multi-gigabyte captures stream out without being held in
 * memory. Timestamps must not go backwards: a record older than the last
 * one is refused, which turns an ordering bug into an error, not a bad file.
 */
#ifndef IOTGEN_PCAPW_H
#define IOTGEN_PCAPW_H

#include <stdint.h>

struct pw;

/* Creates (truncates) path and writes the file header. 0 or -errno. */
int pw_open(struct pw **out, const char *path);
/* Appends one record; ts_us is microseconds since the Unix epoch.
 * 0, -EINVAL if ts_us is older than the previous record, or -errno. */
int pw_write(struct pw *w, uint64_t ts_us, const void *frame, uint32_t caplen, uint32_t wirelen);
/* Records written so far. */
uint64_t pw_count(const struct pw *w);
/* Flushes and closes; 0 or the first error seen. Frees w in all cases. */
int pw_close(struct pw *w);

#endif
