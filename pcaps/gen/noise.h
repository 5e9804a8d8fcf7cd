/* noise — `iotgen noise`: records of random bytes, for parser robustness. */
#ifndef IOTGEN_NOISE_H
#define IOTGEN_NOISE_H

int gen_noise_main(int argc, char **argv);

#endif
