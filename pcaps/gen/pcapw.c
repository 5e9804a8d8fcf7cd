#include "pcaps/gen/pcapw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW_BUFSZ (1u << 20)

struct pw {
	FILE *f;
	char *buf;
	uint64_t count;
	uint64_t last_ts;
	int err;
};

struct pw_filehdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pw_rechdr {
	uint32_t sec, usec, caplen, len;
};

int pw_open(struct pw **out, const char *path)
{
	struct pw_filehdr h = {0xa1b2c3d4, 2, 4, 0, 0, 65535, 1};
	struct pw *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->buf = malloc(PW_BUFSZ);
	if (!w->buf) {
		err = -ENOMEM;
		goto out;
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		err = -errno;
		goto out;
	}
	setvbuf(w->f, w->buf, _IOFBF, PW_BUFSZ);
	if (fwrite(&h, sizeof(h), 1, w->f) != 1) {
		err = -EIO;
		goto out;
	}
	*out = w;
	return 0;
out:
	if (w->f)
		fclose(w->f);
	free(w->buf);
	free(w);
	return err;
}

int pw_write(struct pw *w, uint64_t ts_us, const void *frame, uint32_t caplen, uint32_t wirelen)
{
	struct pw_rechdr r;

	if (w->err)
		return w->err;
	if (ts_us < w->last_ts)
		return -EINVAL;
	r.sec = (uint32_t)(ts_us / 1000000);
	r.usec = (uint32_t)(ts_us % 1000000);
	r.caplen = caplen;
	r.len = wirelen;
	if (fwrite(&r, sizeof(r), 1, w->f) != 1 ||
	    (caplen && fwrite(frame, caplen, 1, w->f) != 1)) {
		w->err = -EIO;
		return w->err;
	}
	w->last_ts = ts_us;
	w->count++;
	return 0;
}

uint64_t pw_count(const struct pw *w)
{
	return w->count;
}

int pw_close(struct pw *w)
{
	int err = w->err;

	if (fflush(w->f) != 0 && !err)
		err = -errno;
	if (fclose(w->f) != 0 && !err)
		err = -errno;
	free(w->buf);
	free(w);
	return err;
}
