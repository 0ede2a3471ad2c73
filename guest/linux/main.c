// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi: a FullMAC cfg80211 driver that hands Wi-Fi control (scan,
 * connect, disconnect) to the host over vsock, for VMs that use the host's
 * Wi-Fi. Wire protocol version 0.1, compatible with the proxy-wifi service
 * and the original Windows host.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/socket.h>
#include <linux/vm_sockets.h>
#include <net/rtnetlink.h>

#include "proxy_wifi.h"

unsigned int pw_host_cid = VMADDR_CID_HOST;
module_param_named(host_cid, pw_host_cid, uint, 0444);
MODULE_PARM_DESC(host_cid, "vsock CID of the host service: requests go to it, notifications are accepted only from it (default 2)");

unsigned int pw_request_port = 12345;
module_param_named(request_port, pw_request_port, uint, 0444);
MODULE_PARM_DESC(request_port, "vsock port of the host's request listener (default 12345)");

unsigned int pw_notification_port = 12346;
module_param_named(notification_port, pw_notification_port, uint, 0444);
MODULE_PARM_DESC(notification_port, "vsock port this guest listens on for notifications (default 12346)");

bool pw_notif_privileged_port;
module_param_named(notif_privileged_port, pw_notif_privileged_port, bool, 0444);
MODULE_PARM_DESC(notif_privileged_port, "accept notifications only from a host source port below 1024, which only a privileged host process can bind (default off; the original Windows host over Hyper-V sockets cannot meet it)");

static struct wiphy *pw_wiphy;

static int __init pw_init(void)
{
	int err;

	/*
	 * The vsock core, which the link's sockets need. Loaded here rather than
	 * with MODULE_SOFTDEP("pre: vsock"): a soft dependency makes `modprobe -r
	 * proxy_wifi` try to unload vsock too, and fail, as the VM's vsock
	 * transport uses it. A kernel with vsock built in has nothing to load.
	 */
	request_module("net-pf-%d", PF_VSOCK);
	pw_wiphy = pw_wiphy_create();
	if (IS_ERR(pw_wiphy))
		return PTR_ERR(pw_wiphy);
	err = pw_link_register(pw_wiphy);
	if (err) {
		pw_wiphy_destroy(pw_wiphy);
		return err;
	}
	return 0;
}

static void __exit pw_exit(void)
{
	pw_link_unregister();
	pw_wiphy_destroy(pw_wiphy);
}

module_init(pw_init);
module_exit(pw_exit);

MODULE_DESCRIPTION("Wi-Fi through the host: cfg80211 driver for the proxy_wifi protocol");
MODULE_AUTHOR("The proxy-wifi authors");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_VERSION(PW_DRV_VERSION);
MODULE_ALIAS_RTNL_LINK(PW_DRV_NAME);
