/* mix — `iotgen mix`: a benchmark capture of a busy IoT gateway. */
#ifndef IOTGEN_MIX_H
#define IOTGEN_MIX_H

int gen_mix_main(int argc, char **argv);

#endif
