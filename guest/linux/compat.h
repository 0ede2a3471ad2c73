/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * proxy_wifi: every difference between the kernels the driver builds for.
 *
 * The oldest kernel the code is written for is 6.1 (Debian 12's, which
 * carries the 6.2 form of cfg80211_port_authorized()). Each guard below names
 * the release that made the change it covers; no other file tests the
 * kernel version.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#ifndef PW_COMPAT_H
#define PW_COMPAT_H

#include <linux/version.h>

/* 6.12: the unaligned accessors moved from asm/ to linux/unaligned.h. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/*
 * 6.7: a band's iftype data is set with ieee80211_set_sband_iftype_data()
 * (sparse marks the field for direct use). A feature test, not a version
 * test: distribution kernels older than 6.7 may carry the helper.
 */
#ifdef ieee80211_set_sband_iftype_data
#define pw_set_sband_iftype_data(sband, data) \
	ieee80211_set_sband_iftype_data(sband, data)
#else
#define pw_set_sband_iftype_data(sband, data)			\
	do {							\
		(sband)->iftype_data = (data);			\
		(sband)->n_iftype_data = ARRAY_SIZE(data);	\
	} while (0)
#endif

/*
 * 6.12: a device transmitting without the core's queue lock says so with the
 * net_device's lltx bit; the NETIF_F_LLTX feature flag is gone.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define pw_set_lltx(dev)	((dev)->lltx = true)
#else
#define pw_set_lltx(dev)	((dev)->features |= NETIF_F_LLTX)
#endif

/*
 * 6.15: rtnl_link_ops.newlink() takes its arguments packed in a struct
 * rtnl_newlink_params; the link's netns comes from rtnl_newlink_link_net().
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define PW_NEWLINK_ARGS		struct net_device *dev,			\
				struct rtnl_newlink_params *params,	\
				struct netlink_ext_ack *extack
#define PW_NEWLINK_NET()	rtnl_newlink_link_net(params)
#define PW_NEWLINK_TB()		(params->tb)
#else
#define PW_NEWLINK_ARGS		struct net *src_net, struct net_device *dev, \
				struct nlattr *tb[], struct nlattr *data[], \
				struct netlink_ext_ack *extack
#define PW_NEWLINK_NET()	(src_net)
#define PW_NEWLINK_TB()		(tb)
#endif

/*
 * 7.0: cfg80211's station operations (get_station, dump_station) take the
 * struct wireless_dev instead of the net_device (stations of NAN interfaces).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define PW_STA_DEV_ARG		struct wireless_dev *wdev
#define PW_STA_NETDEV()		(wdev->netdev)
#else
#define PW_STA_DEV_ARG		struct net_device *dev
#define PW_STA_NETDEV()		(dev)
#endif

/*
 * 7.0: kernel_bind() and kernel_connect() take a struct sockaddr_unsized
 * (the socket address's size is the separate length argument).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 0, 0)
#define PW_SOCKADDR(addr)	((struct sockaddr_unsized *)(addr))
#else
#define PW_SOCKADDR(addr)	((struct sockaddr *)(addr))
#endif

#endif /* PW_COMPAT_H */
