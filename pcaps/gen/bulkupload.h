/* bulkupload — `iotgen bulkupload`: security cameras uploading video to their cloud (benchmark). */
#ifndef IOTGEN_BULKUPLOAD_H
#define IOTGEN_BULKUPLOAD_H

int gen_bulkupload_main(int argc, char **argv);

#endif
