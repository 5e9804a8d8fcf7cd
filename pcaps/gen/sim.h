/*
 * sim — the discrete-event engine every scenario runs on.
 *
 * Two priority queues keyed by (time, insertion order): tasks and packets.
 * A task runs at its time and may emit packets at that time or later and
 * schedule further tasks. Before a task at time t runs, every queued packet
 * up to t is written out: no later task can emit anything earlier, so the
 * capture comes out in timestamp order while only the packets "in flight"
 * are held in memory. Ties break by insertion order, so runs are
 * deterministic.
 *
 * Emitting is fire-and-forget for the scenario code: the first failure
 * (out of memory, a packet dated before the current task — an ordering bug)
 * is kept and returned by sim_run, which then stops.
 */
#ifndef IOTGEN_SIM_H
#define IOTGEN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcaps/gen/pcapw.h"

struct sim;
typedef void (*sim_fn)(struct sim *s, void *arg);

/* Packets at or after end_us are dropped and tasks there never run;
 * max_pkts (0 = no limit) stops the run once that many are written. */
int sim_new(struct sim **out, struct pw *w, uint64_t end_us, uint64_t max_pkts);
void sim_free(struct sim *s);

/* Schedules fn(s, arg) at t (not before the current time). Tasks at or past
 * the end are silently dropped. */
void sim_at(struct sim *s, uint64_t t, sim_fn fn, void *arg);
/* Queues a copy of frame (at most PKT_MAX bytes) to be written at t. */
void sim_emit(struct sim *s, uint64_t t, const uint8_t *frame, size_t len);
/* Time of the task being run. */
uint64_t sim_now(const struct sim *s);
uint64_t sim_end(const struct sim *s);
/* True once the packet limit is reached; long-running tasks can stop. */
bool sim_done(const struct sim *s);
void sim_fail(struct sim *s, int err);

/* Runs tasks in time order until none is left, the end is reached or the
 * packet limit is hit, then writes what remains before the end.
 * 0 or the first error. */
int sim_run(struct sim *s);

#endif
