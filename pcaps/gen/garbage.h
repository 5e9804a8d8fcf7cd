/* garbage — labelled malformed packets for decoder tests (see garbage.c). */
#ifndef IOTGEN_GARBAGE_H
#define IOTGEN_GARBAGE_H

int gen_garbage_main(int argc, char **argv);

#endif
