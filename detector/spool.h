/*
 * spool — an on-disk FIFO of opaque byte records, bounded in size, that
 * survives crashes and restarts. The publisher puts alerts here while
 * Redis cannot be reached and delivers them later, in order, at least
 * once: peek, send, consume.
 *
 * A handle is used by one thread only (nothing inside locks); a directory
 * is used by one process at a time (an flock on DIR/lock). The on-disk
 * format is described at the top of spool.c.
 */
#ifndef IOTIDS_SPOOL_H
#define IOTIDS_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

enum spool_when_full {
	SPOOL_DROP_OLDEST, /* the oldest whole segment is deleted to make room (default) */
	SPOOL_DROP_NEWEST, /* the record being appended is refused */
};

struct spool_config {
	const char *dir;               /* created with mode 0700 if missing (parent must exist) */
	uint64_t max_bytes;            /* cap on segment bytes on disk; at least SPOOL_MIN_BYTES */
	enum spool_when_full when_full;
	bool fsync;                    /* spool_sync() and consume fsync; false: write() only */
};
#define SPOOL_MIN_BYTES (64u * 1024)
#define SPOOL_RECORD_MAX (1u << 20)   /* largest record payload accepted */

struct spool_stats {
	uint64_t pending;    /* records appended and not yet consumed */
	uint64_t bytes;      /* bytes of segment files on disk */
	uint64_t appended;   /* since open */
	uint64_t consumed;   /* since open */
	uint64_t dropped;    /* records lost to the full policy or too large, since open */
	uint64_t corrupt;    /* damaged records/tails discarded at open (or found damaged when read) */
};

struct spool_record {
	uint64_t seq;        /* increasing, never reused, survives restarts */
	const void *data;
	size_t len;
};

/* Opens (creating if needed) the spool in c->dir, takes an exclusive lock on it
 * (flock on DIR/lock, non-blocking), recovers what is there: a torn record at
 * the end of the newest segment is truncated away, a damaged record in an
 * older one ends that segment; each counts in corrupt. A spool found over
 * the cap (max_bytes lowered since) stays so until the next append makes room
 * (SPOOL_DROP_OLDEST) or consumes do (SPOOL_DROP_NEWEST refuses until then).
 * c is copied (dir too).
 * 0 and *out set, or a negative errno with one line in err naming the
 * directory or file and the reason ("spool /x: in use by another process"
 * is -EBUSY, "spool /x: not a directory" -ENOTDIR, a bad config -EINVAL, ...). */
int spool_open(const struct spool_config *c, struct spool **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Syncs (per c->fsync), releases the lock and frees; NULL is a no-op. */
void spool_close(struct spool *s);

/* Appends one record (len bytes of data, 0 allowed) at the tail; it gets the
 * next seq. 0 = kept; 1 = refused by SPOOL_DROP_NEWEST (counted in dropped);
 * -EMSGSIZE when len > SPOOL_RECORD_MAX or the record cannot fit in max_bytes
 * even alone (counted in dropped); another negative errno on an I/O error
 * (ENOSPC, EFBIG, EIO...): then the record is not kept and the spool's
 * records are those before the call (a partly written record is truncated
 * away), except that SPOOL_DROP_OLDEST may already have deleted the oldest
 * segments to make room (their records count in dropped): the cap is never
 * passed, not even during the write. Not durable until spool_sync. */
int spool_append(struct spool *s, const void *data, size_t len) __attribute__((warn_unused_result));

/* Makes appended records durable: with c->fsync, fdatasync of the tail
 * segment (and of the directory when segments were created or deleted);
 * else a no-op. 0 or -errno. */
int spool_sync(struct spool *s) __attribute__((warn_unused_result));

/* Fills recs with up to max of the oldest unconsumed records, in order, stopping
 * before the total payload would pass max_bytes (but always at least one record
 * when any is pending and max > 0). The data pointers point into a buffer of s
 * and stay valid until the next spool_peek or spool_close (an append or a
 * consume does not move them). Returns the count (0 when empty) or a negative
 * errno. Does not consume: the same records come back until spool_consume. A
 * record found damaged on the way ends its segment (counted in corrupt) and
 * the next segment is read instead. */
int spool_peek(struct spool *s, struct spool_record *recs, size_t max, size_t max_bytes)
	__attribute__((warn_unused_result));

/* Marks every record with seq <= through as delivered and persists that
 * (atomically: DIR/consumed.tmp, fsync when c->fsync, rename). Segments wholly
 * consumed are deleted; when nothing is pending the tail segment is deleted
 * too, so bytes returns to 0. A through past the newest seq is taken as the
 * newest; records already consumed or dropped are ignored: SPOOL_DROP_OLDEST
 * may drop records that were peeked and are being delivered (they count in
 * dropped, and their consume is then a no-op). 0 or -errno (the records stay
 * pending when the consumed file could not be written). */
int spool_consume(struct spool *s, uint64_t through) __attribute__((warn_unused_result));

/* Counters as of now; cannot fail. */
void spool_stats(const struct spool *s, struct spool_stats *st);

#endif
