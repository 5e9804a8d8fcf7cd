/* home — `iotgen home`: a smart-home LAN seen on the router's LAN bridge. */
#ifndef IOTGEN_HOME_H
#define IOTGEN_HOME_H

int gen_home_main(int argc, char **argv);

#endif
