/*
 * fuzz — what the libFuzzer harnesses share: loaders that take a path get
 * the input through a memfd (no disk, nothing left behind), and the checks
 * every parser's text output must pass.
 */
#ifndef IOTIDS_FUZZ_H
#define IOTIDS_FUZZ_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "features/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Link types fuzz_decode picks from with its first byte: the ones the
 * decoder reads, and two it refuses. */
static const int fuzz_linktypes[] = {1 /* EN10MB */, 113 /* LINUX_SLL */, 276 /* LINUX_SLL2 */, 12 /* RAW */,
				     228 /* IPV4 */, 229 /* IPV6 */, 0 /* NULL */, 108 /* LOOP */,
				     14 /* RAW, OpenBSD numbering */, 105 /* IEEE802_11 */};
#define FUZZ_N_LINKTYPES (sizeof(fuzz_linktypes) / sizeof(fuzz_linktypes[0]))

/* Service ports fuzz_dpi picks from with its first byte (the low bit picks
 * TCP or UDP): nDPI tries the dissectors of a flow's ports first. */
static const uint16_t fuzz_dpi_ports[] = {443, 80, 53, 8883, 1883, 5683, 123, 554, 1900, 5353, 853, 8080, 22, 23, 3478, 502};
#define FUZZ_N_DPI_PORTS (sizeof(fuzz_dpi_ports) / sizeof(fuzz_dpi_ports[0]))

/* A finding: libFuzzer saves the input that got here. */
#define FUZZ_CHECK(cond)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/* data as a file at *path ("/proc/self/fd/N"); the fd to close after, or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* What a message for a terminal must be: NUL-terminated within cap, valid
 * UTF-8 and free of control characters (C0, DEL, C1). */
static inline void fuzz_check_line(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	FUZZ_CHECK(n < cap);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		size_t k = text_utf8_len((const uint8_t *)s + i, n - i);
		FUZZ_CHECK(k > 0);
		/* C1 controls (U+0080..U+009F) are controls too. */
		FUZZ_CHECK(!(k == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0));
		i += k;
	}
}

/* What every name a parser hands on must be: a terminal-safe line that is
 * also safe text (features/text.h: no format character either, a
 * backslash only as an escape). */
static inline void fuzz_check_text(const char *s, size_t cap)
{
	fuzz_check_line(s, cap);
	FUZZ_CHECK(text_is_safe(s));
}

#endif
