/*
 * scenario — `iotgen scenario NAME`: the smart home (home.c) for a few
 * days with one labelled behaviour injected on the last day (an attack or
 * a benign surprise), and its ground truth as JSON, for evaluating the
 * detector (bench/eval.sh).
 */
#ifndef IOTGEN_SCENARIO_H
#define IOTGEN_SCENARIO_H

int gen_scenario_main(int argc, char **argv);
/* `iotgen demo`: the bundled demo capture, several behaviours in one. */
int gen_demo_main(int argc, char **argv);

#endif
