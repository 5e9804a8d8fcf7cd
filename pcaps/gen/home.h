/*
 * home — `iotgen home`: a smart-home LAN seen on the router's LAN bridge.
 *
 * The simulation is also the base of other generators (scenario.c): they
 * run it through home_generate() with departures from the plain home
 * (home_var) and their own processes scheduled on its event engine
 * (inject). A departure only changes what happens from its time on, and a
 * process scheduled later only adds packets from its time on, so such a
 * capture is the plain home's, byte for byte, until then.
 */
#ifndef IOTGEN_HOME_H
#define IOTGEN_HOME_H

#include <stdint.h>

#include "pcaps/gen/homenet.h"
#include "pcaps/gen/sim.h"

int gen_home_main(int argc, char **argv);

struct home;

/* Departures from the plain home; each is off while its factor or name is
 * zero or NULL. */
struct home_var {
	/* Daylight saving: from dst_at_us on, the household's clock runs
	 * dst_shift_s ahead of UTC (its days, evenings, nights move). */
	uint64_t dst_at_us;
	int64_t dst_shift_s;
	/* Evening shows the TV starts from tv_more_at_us on last between
	 * tv_show_lo_s and tv_show_hi_s (usually 10 to 30 minutes), at
	 * tv_richer times the usual bitrate (when > 0). */
	uint64_t tv_more_at_us;
	uint32_t tv_show_lo_s, tv_show_hi_s;
	double tv_richer;
	/* The device of this kind ("thermostat"...) sends nothing from
	 * mute_at_us on, and the others stop talking to it. */
	const char *mute;
	uint64_t mute_at_us;
};

struct home_run {
	const char *cmd;            /* names the command in error messages */
	uint64_t seed, start_us, duration_s;
	const char *out;            /* the capture */
	const char *manifest;       /* or NULL */
	struct home_var var;
	/* Called once the devices exist, before the simulation runs, to
	 * schedule extra processes on home_sim(h); 0 or a negative errno,
	 * which fails the run. May be NULL. */
	int (*inject)(struct home *h, void *ctx);
	void *ctx;
};

/* Runs the simulation into r->out (and r->manifest). Returns an exit
 * status: CLI_OK, or CLI_RUNTIME after printing the error. */
int home_generate(const struct home_run *r);

/* For inject(): the engine, the network, and a device by its kind as the
 * manifest names it ("camera", "plug", "thermostat", "voice_assistant",
 * "hub", "phone", "tv"), NULL for an unknown kind. */
struct sim *home_sim(struct home *h);
struct hn *home_net(struct home *h);
struct hn_dev *home_device(struct home *h, const char *kind);

/* d's connections, and the hub's local one to it, vanish without a packet
 * (its address changed): their processes reconnect at their next run. */
void home_drop_conns(struct home *h, const struct hn_dev *d);

/* d (one of the home's devices) reboots now, at the engine's current time:
 * it is gone at once (its connections die without a packet, its DNS cache
 * and neighbour entries are lost, its processes wait) and at up_at it
 * boots again: DHCP, ARP for the gateway, SLAAC with IPv6, and its
 * processes start over, resolving their names afresh. 0, or -EINVAL (not
 * a home device, or up_at not after now) or -ENOMEM. */
int home_reboot(struct home *h, struct hn_dev *d, uint64_t up_at);

#endif
