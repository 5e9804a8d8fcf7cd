#include "capture/cap.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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

int cap_stats(const struct cap_source *s, struct cap_stats *st)
{
	return s->ops->stats ? s->ops->stats(s, st) : -ENOTSUP;
}

void cap_stop(struct cap_source *s)
{
	if (s->ops->stop)
		s->ops->stop(s);
}

const char *cap_kind(const struct cap_source *s)
{
	return s->ops->name;
}

/* 1 up, 0 down, -errno when the interface cannot be asked. */
static int iface_up(const char *iface)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 ? !!(ifr.ifr_flags & IFF_UP) : -errno;
	close(fd);
	return rc;
}

int cap_iface_check(const char *iface, char *err, size_t errlen)
{
	unsigned idx;
	if (!iface || !*iface || strlen(iface) >= IF_NAMESIZE || !(idx = if_nametoindex(iface))) {
		snprintf(err, errlen, "%s: no such network interface (see 'ip link')", iface ? iface : "");
		return -1;
	}
	if (iface_up(iface) == 0) {
		snprintf(err, errlen, "%s: the interface is down (ip link set %s up)", iface, iface);
		return -1;
	}
	return (int)idx;
}

const char *cap_hook(const struct cap_source *s)
{
	return s->ops->hook ? s->ops->hook(s) : NULL;
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
