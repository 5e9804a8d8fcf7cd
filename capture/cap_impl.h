/* The source object shared by cap.c and its backends; not for other modules. */
#ifndef IOTIDS_CAP_IMPL_H
#define IOTIDS_CAP_IMPL_H

#include "capture/cap.h"

struct cap_source {
	const struct cap_ops *ops;
	int linktype;
	char err[512];
	void *impl;
};

#endif
