/* synflood — `iotgen synflood`: a TCP SYN flood toward one LAN host. */
#ifndef IOTGEN_SYNFLOOD_H
#define IOTGEN_SYNFLOOD_H

int gen_synflood_main(int argc, char **argv);

#endif
