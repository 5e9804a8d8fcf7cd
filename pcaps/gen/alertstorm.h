/* alertstorm — `iotgen alertstorm`: a LAN whose devices, once learned, raise many alerts. */
#ifndef IOTGEN_ALERTSTORM_H
#define IOTGEN_ALERTSTORM_H

int gen_alertstorm_main(int argc, char **argv);

#endif
