#include "capture/cap.h"

#include <errno.h>
#include <pcap/pcap.h>

#include "capture/cap_impl.h"

enum cap_status cap_next(struct cap_source *s, struct cap_packet *p)
{
	return s->ops->next(s, p);
}

int cap_linktype(const struct cap_source *s)
{
	return s->linktype;
}

const char *cap_linktype_name(const struct cap_source *s)
{
	const char *n = pcap_datalink_val_to_name(s->linktype);
	return n ? n : "unknown";
}

int cap_stats(struct cap_source *s, struct cap_stats *st)
{
	return s->ops->stats ? s->ops->stats(s, st) : -ENOTSUP;
}

void cap_progress(const struct cap_source *s, uint64_t *done, uint64_t *total)
{
	s->ops->progress(s, done, total);
}

const char *cap_error(const struct cap_source *s)
{
	return s->err;
}

void cap_close(struct cap_source *s)
{
	if (s)
		s->ops->close(s);
}
