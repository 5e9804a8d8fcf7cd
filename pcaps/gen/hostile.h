/*
 * hostile — `iotgen hostile`: the demo home (or any capture of it given
 * with --base) with one hostile flood laid over its enforcement hour,
 * merged in capture time: spoofed sources exhausting the flow and device
 * tables, a flood of DNS answers filling the answer cache and the name
 * table, or one compromised host resolving and reaching a million names.
 * For checking that iotids stays within its memory bounds and that the
 * real devices keep their profiles and alerts (bench/hostile.sh).
 */
#ifndef IOTGEN_HOSTILE_H
#define IOTGEN_HOSTILE_H

int gen_hostile_main(int argc, char **argv);

#endif
