/* malformed — the malformed-capture corpus in pcaps/malformed (see malformed.c). */
#ifndef IOTGEN_MALFORMED_H
#define IOTGEN_MALFORMED_H

int gen_malformed_main(int argc, char **argv);

#endif
