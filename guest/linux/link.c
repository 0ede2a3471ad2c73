// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi: the "proxy_wifi" rtnl link.
 *
 *   ip link add link eth0 name wlan0 type proxy_wifi
 *
 * creates the station interface on the module's wiphy. Its data path is the
 * lower Ethernet device: frames sent on wlan0 leave through eth0, and while
 * wlan0 is connected an rx handler on eth0 hands received frames to wlan0.
 * Creating the link starts the notification listener; deleting it (or
 * removing eth0, or unloading the module) stops everything the link runs.
 *
 * The data path adds to eth0's only what stacking must: wlan0 offers the
 * offloads eth0 has (and follows changes of them and of eth0's MTU), transmits
 * without a queue or a lock, counts per CPU, and its rx handler redirects a
 * frame in place (RX_HANDLER_ANOTHER, no requeue).
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/rtnetlink.h>

#include "proxy_wifi.h"

static struct wiphy *pw_the_wiphy;

/*
 * Offloads wlan0 passes to its lower device. Its frames leave through that
 * device unchanged, so what the device does to a frame (checksum, segmentation,
 * scatter-gather) it does for wlan0's: wlan0 has each of these exactly when the
 * lower device has it (pw_fix_features()), and the user may turn them off.
 */
#define PW_OFFLOADS	(NETIF_F_SG | NETIF_F_HIGHDMA | NETIF_F_FRAGLIST | \
			 NETIF_F_CSUM_MASK | NETIF_F_GSO_SOFTWARE |	  \
			 NETIF_F_GSO_ENCAP_ALL)

/* ------------------------------------------------------------ data path */

static rx_handler_result_t pw_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct pw_link *link = rcu_dereference(skb->dev->rx_handler_data);

	if (!netif_carrier_ok(link->dev))
		return RX_HANDLER_PASS;
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	*pskb = skb;
	skb->dev = link->dev;
	dev_sw_netstats_rx_add(link->dev, skb->len);
	return RX_HANDLER_ANOTHER;
}

static netdev_tx_t pw_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct pw_link *link = netdev_priv(dev);
	unsigned int len = skb->len;
	int ret;

	if (unlikely(!netif_carrier_ok(dev))) {
		dev_core_stats_tx_dropped_inc(dev);
		kfree_skb(skb);
		return NETDEV_TX_OK;
	}
	skb->dev = link->lower;
	ret = dev_queue_xmit(skb);
	if (likely(ret == NET_XMIT_SUCCESS || ret == NET_XMIT_CN))
		dev_sw_netstats_tx_add(dev, 1, len);
	else
		dev_core_stats_tx_dropped_inc(dev);
	return NETDEV_TX_OK;
}

/* Keeps of the offloads asked for those the lower device has on. */
static netdev_features_t pw_fix_features(struct net_device *dev,
					 netdev_features_t features)
{
	struct pw_link *link = netdev_priv(dev);

	return features & (link->lower->features | ~PW_OFFLOADS);
}

/* ------------------------------------------------------------ netdev ops */

static int pw_ndo_init(struct net_device *dev)
{
	struct pw_link *link = netdev_priv(dev);
	int err = -ENOMEM;

	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	link->op_wq = alloc_ordered_workqueue("proxy_wifi_op", 0);
	if (!link->op_wq)
		goto err_stats;
	link->notif_wq = alloc_workqueue("proxy_wifi_notif", WQ_UNBOUND,
					 PW_MAX_NOTIF_READS);
	if (!link->notif_wq)
		goto err_op_wq;
	err = pw_listener_start(link);
	if (err)
		goto err_notif_wq;
	return 0;

err_notif_wq:
	destroy_workqueue(link->notif_wq);
	link->notif_wq = NULL;
err_op_wq:
	destroy_workqueue(link->op_wq);
	link->op_wq = NULL;
err_stats:
	free_percpu(dev->tstats);
	dev->tstats = NULL;
	return err;
}

/*
 * Runs after the device is unregistered, outside rtnl: stops the listener,
 * interrupts what is in flight (a disconnection the host must still hear of
 * gets PW_DRAIN_TIMEOUT_MS) and waits for the workqueues.
 */
static void pw_destructor(struct net_device *dev)
{
	struct pw_link *link = netdev_priv(dev);

	pw_listener_stop(link);
	pw_io_drain(link);
	flush_workqueue(link->notif_wq);
	flush_workqueue(link->op_wq);
	cancel_delayed_work_sync(&link->scan_timeout);
	pw_io_close(link);
	flush_workqueue(link->op_wq);
	destroy_workqueue(link->notif_wq);
	destroy_workqueue(link->op_wq);
	pw_link_free_ops(link);
	free_percpu(dev->tstats);
}

static int pw_ndo_open(struct net_device *dev)
{
	struct pw_link *link = netdev_priv(dev);

	netif_carrier_off(dev);
	mutex_lock(&link->lock);
	link->up = true;
	mutex_unlock(&link->lock);
	return 0;
}

static int pw_ndo_stop(struct net_device *dev)
{
	struct pw_link *link = netdev_priv(dev);

	pw_link_stop_ops(link);
	netif_carrier_off(dev);
	return 0;
}

static int pw_ndo_get_iflink(const struct net_device *dev)
{
	const struct pw_link *link = netdev_priv(dev);

	return link->lower->ifindex;
}

static const struct net_device_ops pw_netdev_ops = {
	.ndo_init = pw_ndo_init,
	.ndo_open = pw_ndo_open,
	.ndo_stop = pw_ndo_stop,
	.ndo_start_xmit = pw_start_xmit,
	.ndo_get_stats64 = dev_get_tstats64,
	.ndo_fix_features = pw_fix_features,
	.ndo_get_iflink = pw_ndo_get_iflink,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void pw_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &pw_netdev_ops;
	dev->needs_free_netdev = true;
	dev->priv_destructor = pw_destructor;
	/* No queue and no transmit lock: the lower device has both. */
	dev->priv_flags |= IFF_NO_QUEUE;
	pw_set_lltx(dev);
	dev->hw_features = PW_OFFLOADS;
	dev->features |= PW_OFFLOADS;
}

/*
 * Takes what the lower device's transmit path can do: its segmentation limits
 * and the offloads it gives stacked VLANs and tunnels. wlan0's own offloads
 * follow from pw_fix_features().
 */
static void pw_inherit_lower(struct net_device *dev, struct net_device *lower)
{
	dev->vlan_features = lower->vlan_features & PW_OFFLOADS;
	dev->hw_enc_features = lower->hw_enc_features & PW_OFFLOADS;
	netif_inherit_tso_max(dev, lower);
}

/* ------------------------------------------------------------ rtnl link */

static int pw_validate(struct nlattr *tb[], struct nlattr *data[],
		       struct netlink_ext_ack *extack)
{
	if (!tb[IFLA_LINK]) {
		NL_SET_ERR_MSG(extack,
			       "proxy_wifi needs a lower Ethernet device: ip link add link DEV ...");
		return -EINVAL;
	}
	return 0;
}

/*
 * Attaches the new interface @dev to @lower and registers it. @keep_addr and
 * @keep_mtu say the caller set the interface's address or MTU already; else
 * they are the lower device's.
 */
static int pw_attach(struct net_device *dev, struct net_device *lower,
		     bool keep_addr, bool keep_mtu,
		     struct netlink_ext_ack *extack)
{
	struct pw_link *link = netdev_priv(dev);
	struct pw_link **slot = pw_wiphy_link(pw_the_wiphy);
	int err;

	ASSERT_RTNL();
	if (*slot) {
		NL_SET_ERR_MSG(extack, "a proxy_wifi link exists already (one per VM)");
		return -EBUSY;
	}
	if (lower->type != ARPHRD_ETHER || lower->ieee80211_ptr) {
		NL_SET_ERR_MSG(extack, "the lower device must be a plain Ethernet device");
		return -EINVAL;
	}
	/* Frames larger than the lower device's MTU would not leave it. */
	if (keep_mtu && dev->mtu > lower->mtu) {
		NL_SET_ERR_MSG(extack, "the MTU cannot exceed the lower device's");
		return -EINVAL;
	}

	link->dev = dev;
	link->lower = lower;
	link->wiphy = pw_the_wiphy;
	link->wdev.wiphy = pw_the_wiphy;
	link->wdev.iftype = NL80211_IFTYPE_STATION;
	link->wdev.netdev = dev;
	dev->ieee80211_ptr = &link->wdev;
	INIT_LIST_HEAD(&link->io_list);
	mutex_init(&link->io_lock);
	atomic_set(&link->notif_reads, 0);
	pw_link_init_ops(link);

	if (!keep_addr)
		eth_hw_addr_set(dev, lower->dev_addr);
	if (!keep_mtu)
		dev->mtu = lower->mtu;
	dev->max_mtu = lower->mtu;
	/* Room for what the lower device adds to a frame. */
	dev->hard_header_len = lower->hard_header_len;
	dev->needed_headroom = lower->needed_headroom;
	dev->needed_tailroom = lower->needed_tailroom;
	pw_inherit_lower(dev, lower);
	netif_carrier_off(dev);

	err = register_netdevice(dev);
	if (err) {
		NL_SET_ERR_MSG(extack, "registering the interface failed");
		return err;
	}
	err = netdev_rx_handler_register(lower, pw_rx_handler, link);
	if (err) {
		NL_SET_ERR_MSG(extack,
			       "the lower device has an rx handler already (bridge, bond, ...)");
		goto err_unregister;
	}
	err = netdev_upper_dev_link(lower, dev, extack);
	if (err)
		goto err_rx_handler;
	*slot = link;
	return 0;

err_rx_handler:
	netdev_rx_handler_unregister(lower);
err_unregister:
	unregister_netdevice(dev);
	return err;
}

static int pw_create(struct net *link_net, struct net_device *dev,
		     struct nlattr *tb[], struct netlink_ext_ack *extack)
{
	struct net_device *lower;

	lower = __dev_get_by_index(link_net, nla_get_u32(tb[IFLA_LINK]));
	if (!lower) {
		NL_SET_ERR_MSG(extack, "the lower device does not exist");
		return -ENODEV;
	}
	return pw_attach(dev, lower, tb[IFLA_ADDRESS], tb[IFLA_MTU], extack);
}

static int pw_newlink(PW_NEWLINK_ARGS)
{
	return pw_create(PW_NEWLINK_NET(), dev, PW_NEWLINK_TB(), extack);
}

static void pw_dellink(struct net_device *dev, struct list_head *head)
{
	struct pw_link *link = netdev_priv(dev);
	struct pw_link **slot = pw_wiphy_link(link->wiphy);

	ASSERT_RTNL();
	netdev_upper_dev_unlink(link->lower, dev);
	netdev_rx_handler_unregister(link->lower);
	if (*slot == link)
		*slot = NULL;
	unregister_netdevice_queue(dev, head);
}

static struct rtnl_link_ops pw_link_ops __read_mostly = {
	.kind = PW_DRV_NAME,
	.priv_size = sizeof(struct pw_link),
	.setup = pw_setup,
	.validate = pw_validate,
	.newlink = pw_newlink,
	.dellink = pw_dellink,
};

/* ------------------------------------------------------------ lower device */

/**
 * pw_link_exists() - whether the (one) proxy_wifi link exists.
 *
 * Context: under rtnl.
 * Return: true if a link is registered on the module's wiphy.
 */
bool pw_link_exists(void)
{
	ASSERT_RTNL();
	return *pw_wiphy_link(pw_the_wiphy);
}

/**
 * pw_link_is_ours() - whether @dev is a proxy_wifi interface.
 * @dev: any network device
 *
 * Return: true if @dev was made by this driver.
 */
bool pw_link_is_ours(const struct net_device *dev)
{
	return dev->rtnl_link_ops == &pw_link_ops;
}

/**
 * pw_link_add() - creates the link on @lower without rtnetlink.
 * @lower: the Ethernet device the link's frames go through
 * @name: the interface name; "wlan%d" if this one is taken
 *
 * What `ip link add link LOWER name NAME type proxy_wifi` does, for the
 * automatic link (autolink.c). The interface is deleted like any other
 * (ip link del, the lower device going away, rmmod).
 *
 * Context: under rtnl.
 * Return: 0, or a negative errno (the link is not created).
 */
int pw_link_add(struct net_device *lower, const char *name)
{
	struct net *net = dev_net(lower);
	struct net_device *dev;
	int err;

	ASSERT_RTNL();
	if (!dev_valid_name(name) || __dev_get_by_name(net, name))
		name = "wlan%d";
	dev = alloc_netdev(sizeof(struct pw_link), name, NET_NAME_USER,
			   pw_setup);
	if (!dev)
		return -ENOMEM;
	dev_net_set(dev, net);
	dev->rtnl_link_ops = &pw_link_ops;
	err = pw_attach(dev, lower, false, false, NULL);
	/* A registered device is freed by its unregistration. */
	if (err && dev->reg_state == NETREG_UNINITIALIZED)
		free_netdev(dev);
	return err;
}

/*
 * The lower device's MTU went from @old_mtu to its current one: wlan0's may
 * not exceed it, and follows it if it was the same before.
 */
static void pw_lower_mtu_changed(struct pw_link *link, unsigned int old_mtu)
{
	struct net_device *dev = link->dev;
	unsigned int mtu = link->lower->mtu;
	int err;

	dev->max_mtu = max(mtu, dev->min_mtu);
	if (dev->mtu != old_mtu && dev->mtu <= mtu)
		return;
	err = dev_set_mtu(dev, dev->max_mtu);
	if (err)
		netdev_warn(dev, "cannot follow %s's MTU %u: %d\n",
			    link->lower->name, mtu, err);
}

static int pw_lower_event(struct notifier_block *nb, unsigned long event,
			  void *ptr)
{
	struct net_device *lower = netdev_notifier_info_to_dev(ptr);
	struct netdev_notifier_info_ext *info_ext;
	struct pw_link *link;

	pw_auto_link_event(lower, event);
	if ((event != NETDEV_UNREGISTER && event != NETDEV_FEAT_CHANGE &&
	     event != NETDEV_CHANGEMTU) ||
	    rtnl_dereference(lower->rx_handler) != pw_rx_handler)
		return NOTIFY_DONE;
	link = rtnl_dereference(lower->rx_handler_data);
	if (event == NETDEV_UNREGISTER) {
		pw_dellink(link->dev, NULL);
	} else if (event == NETDEV_FEAT_CHANGE) {
		pw_inherit_lower(link->dev, lower);
		netdev_update_features(link->dev);
	} else {
		/* The notifier's info carries the MTU before the change. */
		info_ext = container_of(ptr, struct netdev_notifier_info_ext, info);
		pw_lower_mtu_changed(link, info_ext->ext.mtu);
	}
	return NOTIFY_OK;
}

static struct notifier_block pw_lower_notifier = {
	.notifier_call = pw_lower_event,
};

/**
 * pw_link_register() - makes the link kind known, and the automatic link.
 * @wiphy: the module's wiphy, on which the link is created
 *
 * Return: 0, or a negative errno (nothing stays registered).
 */
int pw_link_register(struct wiphy *wiphy)
{
	int err;

	pw_the_wiphy = wiphy;
	err = register_netdevice_notifier(&pw_lower_notifier);
	if (err)
		return err;
	err = rtnl_link_register(&pw_link_ops);
	if (err) {
		unregister_netdevice_notifier(&pw_lower_notifier);
		return err;
	}
	pw_auto_link_start();
	return 0;
}

/**
 * pw_link_unregister() - deletes the link (if any) and waits until it is gone.
 */
void pw_link_unregister(void)
{
	pw_auto_link_stop();
	rtnl_link_unregister(&pw_link_ops);
	unregister_netdevice_notifier(&pw_lower_notifier);
	pw_the_wiphy = NULL;
}
