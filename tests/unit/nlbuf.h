/*
 * Builds rtnetlink dump replies by hand for the unit tests that feed the
 * netinfo parsers bytes (test_wire.c, test_netinfo6.c): messages laid out
 * as the kernel lays them out (netlink(7), RFC 3549 section 2.3.2).
 */
#ifndef PK_TEST_NLBUF_H
#define PK_TEST_NLBUF_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>

struct nlbuf {
	/* Aligned as recv() fills a buffer. */
	unsigned char	b[8192] __attribute__((aligned(4)));
	size_t		len;
};

/* Starts a message of type with a zeroed header of hdrlen; returns it. */
static inline struct nlmsghdr *
nl_begin(struct nlbuf *nb, int type, size_t hdrlen)
{
	struct nlmsghdr *nh = (void *)(nb->b + nb->len);

	memset(nh, 0, NLMSG_SPACE(hdrlen));
	nh->nlmsg_type = (uint16_t)type;
	nh->nlmsg_flags = NLM_F_MULTI;
	nh->nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	nb->len += NLMSG_SPACE(hdrlen);
	return nh;
}

static inline void
nl_attr(struct nlbuf *nb, struct nlmsghdr *nh, int type, const void *data,
    size_t len)
{
	struct rtattr *rta = (void *)(nb->b + nb->len);

	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nb->len += RTA_ALIGN(rta->rta_len);
	nh->nlmsg_len = (uint32_t)((nb->b + nb->len) - (unsigned char *)nh);
}

static inline void
nl_done(struct nlbuf *nb)
{
	struct nlmsghdr *nh = (void *)(nb->b + nb->len);

	memset(nh, 0, NLMSG_LENGTH(4));
	nh->nlmsg_type = NLMSG_DONE;
	nh->nlmsg_len = NLMSG_LENGTH(4);
	nb->len += NLMSG_ALIGN(nh->nlmsg_len);
}

#endif
