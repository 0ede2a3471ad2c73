/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * proxy_wifi: shared definitions of the driver's parts.
 *
 * One wiphy exists while the module is loaded; one station interface (a
 * "proxy_wifi" rtnl link on top of an Ethernet device) can be created on it.
 * The link owns everything that talks to the host: an ordered workqueue that
 * runs requests and applies notifications one at a time, a workqueue that reads
 * notification connections, and the notification listener thread.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#ifndef PROXY_WIFI_H
#define PROXY_WIFI_H

#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/cfg80211.h>

#include "wire.h"

#define PW_DRV_NAME		"proxy_wifi"
/* The driver's version: dkms.conf's PACKAGE_VERSION says the same. */
#define PW_DRV_VERSION		"0.1.0"

/* Timing of the request channel (one request and its answer per connection). */
#define PW_CONNECT_TIMEOUT_MS	2000
#define PW_REQUEST_TIMEOUT_MS	20000
/* Requests made while the link is being torn down get this much time. */
#define PW_DRAIN_TIMEOUT_MS	1000
/* A notification connection must deliver its whole message within this. */
#define PW_NOTIF_TIMEOUT_MS	2000
/* Notification connections read at the same time; more are refused. */
#define PW_MAX_NOTIF_READS	8
/* A scan the host keeps open (scan_complete = 0) ends after this. */
#define PW_SCAN_WAIT_MS		10000
/*
 * A scan is reported done no sooner than this after it started: `iw dev X
 * scan` subscribes to scan events only after its trigger returns and waits
 * forever for a result that came before.
 */
#define PW_SCAN_MIN_MS		500
/* Signal reported after connecting, until the host sends one. */
#define PW_DEFAULT_SIGNAL_DBM	(-50)

extern unsigned int pw_host_cid;
extern unsigned int pw_request_port;
extern unsigned int pw_notification_port;
extern bool pw_notif_privileged_port;

enum pw_conn_state {
	PW_IDLE,
	PW_CONNECTING,
	PW_CONNECTED,
};

/* A socket doing I/O for the link, so that teardown can interrupt it. */
struct pw_io {
	struct list_head node;
	struct socket *sock;
	bool short_deadline;
};

struct pw_link {
	struct wireless_dev wdev;
	struct net_device *dev;
	struct net_device *lower;
	struct wiphy *wiphy;

	struct workqueue_struct *op_wq;
	struct workqueue_struct *notif_wq;
	struct task_struct *listener;

	/*
	 * Protects the state below. Held while a report goes to cfg80211, so a
	 * report never races with the interface going down. Never held across
	 * network I/O.
	 */
	struct mutex lock;
	bool up;
	struct cfg80211_scan_request *scan_req;
	u64 scan_gen;
	unsigned long scan_started;	/* jiffies */
	bool scan_waiting;		/* answer seen, waiting for the rest */
	bool scan_deferred;		/* outcome known, held for PW_SCAN_MIN_MS */
	bool scan_deferred_aborted;
	enum pw_conn_state conn;
	u64 conn_gen;
	struct pw_connect_req *pending_connect;
	bool conn_keyed;		/* PSK or SAE: report the port authorized */
	u64 session_id;
	u8 bssid[ETH_ALEN];
	int signal_dbm;
	u8 *last_scan;			/* newest accepted scan body, for re-informing */
	u32 last_scan_len;

	/* In-flight sockets (request and notification), for teardown. */
	struct mutex io_lock;
	struct list_head io_list;
	bool draining;			/* new requests get PW_DRAIN_TIMEOUT_MS */
	bool closing;			/* no new I/O at all */
	atomic_t notif_reads;

	/*
	 * Parsed notifications waiting for the ordered queue, at most one of
	 * each kind (notif_lock): the newest scan results (a newer body
	 * replaces one not applied yet) and a disconnection (the highest
	 * session reported). notif_work applies them; set up by
	 * pw_listener_start().
	 */
	spinlock_t notif_lock;
	u8 *notif_scan;
	u32 notif_scan_len;
	u64 notif_scan_replaced;
	bool notif_disc;
	u64 notif_disc_session;
	struct work_struct notif_work;

	struct work_struct scan_work;
	struct delayed_work scan_timeout;
	u64 scan_timeout_gen;
	struct work_struct connect_work;
};

/* wiphy.c */
struct wiphy *pw_wiphy_create(void);
void pw_wiphy_destroy(struct wiphy *wiphy);
struct pw_link **pw_wiphy_link(struct wiphy *wiphy);
void pw_link_init_ops(struct pw_link *link);
void pw_link_stop_ops(struct pw_link *link);
void pw_link_free_ops(struct pw_link *link);
void pw_apply_scan_results(struct pw_link *link, u8 *body, u32 len);
void pw_apply_disconnected(struct pw_link *link, u64 session_id);
void pw_apply_signal(struct pw_link *link, s8 signal_dbm);

/* transport.c */
int pw_request(struct pw_link *link, u8 op, const u8 *body, u32 len,
	       u8 want_op, u8 **resp, u32 *resp_len);
int pw_listener_start(struct pw_link *link);
void pw_listener_stop(struct pw_link *link);
void pw_io_drain(struct pw_link *link);
void pw_io_close(struct pw_link *link);

/* link.c */
int pw_link_register(struct wiphy *wiphy);
void pw_link_unregister(void);
bool pw_link_exists(void);
bool pw_link_is_ours(const struct net_device *dev);
int pw_link_add(struct net_device *lower, const char *name);

/* autolink.c */
void pw_auto_link_start(void);
void pw_auto_link_stop(void);
void pw_auto_link_event(struct net_device *dev, unsigned long event);

#endif /* PROXY_WIFI_H */
