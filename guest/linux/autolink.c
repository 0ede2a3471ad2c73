// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi: the automatic link.
 *
 * With auto_link=1 the driver creates its station interface by itself, as
 * `ip link add link LOWER name IFNAME type proxy_wifi` would: when the module
 * loads, and whenever a matching Ethernet device appears later (a NIC probed
 * after the module, or one removed and added back). LOWER is the device the
 * "lower" parameter names, or by default the first Ethernet NIC: a device
 * backed by a bus device (virtio-net, e1000, ...), not loopback, not wireless,
 * not a virtual device (bridge, veth, dummy, ...), and not already in use by
 * a bridge or bond. There is one link at most: a device that appears while
 * the link exists changes nothing, and a link deleted by hand stays deleted
 * until a matching device appears again or the module is reloaded.
 *
 * The notifier only queues work; the link is created from the work item,
 * under rtnl, after the module has registered everything.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/if_arp.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "proxy_wifi.h"

static bool pw_auto_link;
module_param_named(auto_link, pw_auto_link, bool, 0444);
MODULE_PARM_DESC(auto_link, "create the interface on the lower device by itself, now and whenever the device appears (default 0)");

static char pw_auto_lower[IFNAMSIZ];
module_param_string(lower, pw_auto_lower, sizeof(pw_auto_lower), 0444);
MODULE_PARM_DESC(lower, "auto_link's lower device (default: the first Ethernet NIC)");

static char pw_auto_ifname[IFNAMSIZ] = "wlan0";
module_param_string(ifname, pw_auto_ifname, sizeof(pw_auto_ifname), 0444);
MODULE_PARM_DESC(ifname, "auto_link's interface name (default wlan0; wlan%d if taken)");

/* Both under rtnl: the work may run only between start and stop. */
static bool pw_auto_armed;

static void pw_auto_link_work(struct work_struct *work);
static DECLARE_WORK(pw_auto_work, pw_auto_link_work);

/* Whether @dev is a device the automatic link may attach to. */
static bool pw_auto_candidate(struct net_device *dev)
{
	if (!net_eq(dev_net(dev), &init_net) || pw_link_is_ours(dev))
		return false;
	if (pw_auto_lower[0])
		return !strcmp(dev->name, pw_auto_lower);
	return dev->type == ARPHRD_ETHER && !(dev->flags & IFF_LOOPBACK) &&
	       !dev->ieee80211_ptr && dev->dev.parent &&
	       !netdev_is_rx_handler_busy(dev);
}

static void pw_auto_link_work(struct work_struct *work)
{
	struct net_device *dev, *lower = NULL;
	int err;

	rtnl_lock();
	if (!pw_auto_armed || pw_link_exists())
		goto out;
	for_each_netdev(&init_net, dev) {
		if (pw_auto_candidate(dev)) {
			lower = dev;
			break;
		}
	}
	if (!lower)
		goto out;
	err = pw_link_add(lower, pw_auto_ifname);
	if (err)
		pr_warn("%s: cannot create the interface on %s (%d)\n",
			PW_DRV_NAME, lower->name, err);
	else
		pr_info("%s: created the interface on %s\n", PW_DRV_NAME,
			lower->name);
out:
	rtnl_unlock();
}

/**
 * pw_auto_link_event() - reacts to a device appearing or being renamed.
 * @dev: the device of the netdevice notifier event
 * @event: the event (NETDEV_*)
 *
 * Queues the creation of the link when @dev may be its lower device (a new
 * device, or one renamed to the configured name, as udev renames NICs).
 *
 * Context: under rtnl (a netdevice notifier).
 */
void pw_auto_link_event(struct net_device *dev, unsigned long event)
{
	if (event != NETDEV_REGISTER && event != NETDEV_CHANGENAME)
		return;
	ASSERT_RTNL();
	if (pw_auto_armed && pw_auto_candidate(dev))
		schedule_work(&pw_auto_work);
}

/**
 * pw_auto_link_start() - creates the link now if auto_link is set.
 *
 * Called once the link kind and the notifier are registered.
 */
void pw_auto_link_start(void)
{
	if (!pw_auto_link)
		return;
	rtnl_lock();
	pw_auto_armed = true;
	rtnl_unlock();
	schedule_work(&pw_auto_work);
}

/**
 * pw_auto_link_stop() - no automatic link from now on.
 *
 * Waits for a creation in progress; called before the link kind goes.
 */
void pw_auto_link_stop(void)
{
	rtnl_lock();
	pw_auto_armed = false;
	rtnl_unlock();
	cancel_work_sync(&pw_auto_work);
}
