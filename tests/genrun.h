/*
 * genrun — test fixture for suites that run the generator ($IOTGEN_BIN)
 * into a scratch directory made per test and removed after it.
 */
#ifndef IOTIDS_TESTS_GENRUN_H
#define IOTIDS_TESTS_GENRUN_H

#include <stdbool.h>
#include <stddef.h>

extern char genrun_dir[64];

/* Criterion .init / .fini: make and remove the scratch directory. */
void genrun_setup(void);
void genrun_teardown(void);
/* name inside the scratch directory (four results stay valid at once). */
const char *genrun_path(const char *name);
/* Runs iotgen with the NULL-terminated arguments, stdout and stderr into
 * out.txt and err.txt in the scratch directory; returns its exit status. */
int genrun_run(const char *arg, ...);
/* The whole file, NUL-terminated, malloc'd; its length in *len when len is
 * not NULL. NULL when it cannot be read. */
char *genrun_slurp(const char *path, size_t *len);
/* The byte offset of the first record at or after ts_s (seconds) in a
 * classic little-endian pcap in buf; len when there is none. */
size_t genrun_offset_at(const char *buf, size_t len, long long ts_s);
/* Polls until the file at path holds text: true, or false after 60 s. A
 * wait for a condition, never a measure of time. */
bool genrun_wait_for_text(const char *path, const char *text);
/* True when both files exist and hold the same bytes (read a chunk at a
 * time: generated captures run to tens of MB). */
bool genrun_same_file(const char *a, const char *b);
/* The server_name of a TLS ClientHello at the start of a TCP payload of n
 * bytes, copied into out (cap bytes), or NULL. */
const char *genrun_sni(const unsigned char *p, size_t n, char *out, size_t cap);

#endif
