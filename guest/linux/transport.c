// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi: the two vsock channels.
 *
 * Requests: one connection per request to (host CID, request port), a 2 s
 * connect timeout and 20 s for the exchange; the answer is read in full and
 * checked against the expected operation and size cap before anyone parses it.
 *
 * Notifications: a kernel thread listens on (any CID, notification port),
 * keeps only connections from the host's CID (and, with notif_privileged_port,
 * from a source port below 1024) and hands each to a reader on its own
 * workqueue, which reads exactly one message within PW_NOTIF_TIMEOUT_MS. A
 * signal notification applies at once; scan results and disconnections wait,
 * at most one of each, for the link's ordered workqueue, behind any request in
 * flight, so the session rule sees connect answers and disconnections in
 * order. A slow notification therefore never delays a scan or a connect.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/net.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/time64.h>
#include <linux/vm_sockets.h>
#include <net/af_vsock.h>
#include <net/sock.h>

#include "proxy_wifi.h"

/* How long the listener waits in accept() before checking for a stop. */
#define PW_ACCEPT_POLL_MS	200
/* Pause before trying again to listen when the port could not be bound. */
#define PW_LISTEN_RETRY_MS	2000

/* ------------------------------------------------------------ in-flight I/O */

static int pw_io_add(struct pw_link *link, struct pw_io *io)
{
	int err = 0;

	mutex_lock(&link->io_lock);
	if (link->closing) {
		err = -ESHUTDOWN;
	} else {
		io->short_deadline = link->draining;
		list_add(&io->node, &link->io_list);
	}
	mutex_unlock(&link->io_lock);
	return err;
}

static void pw_io_del(struct pw_link *link, struct pw_io *io)
{
	mutex_lock(&link->io_lock);
	list_del(&io->node);
	mutex_unlock(&link->io_lock);
}

/* Interrupts the I/O of every registered socket (or only long-deadline ones). */
static void pw_io_shutdown_locked(struct pw_link *link, bool all)
{
	struct pw_io *io;

	lockdep_assert_held(&link->io_lock);
	list_for_each_entry(io, &link->io_list, node)
		if (all || !io->short_deadline)
			kernel_sock_shutdown(io->sock, SHUT_RDWR);
}

/**
 * pw_io_drain() - teardown, first step: what is in flight stops now.
 * @link: the link
 *
 * Requests made from here on (telling the host of a disconnection) get
 * PW_DRAIN_TIMEOUT_MS.
 */
void pw_io_drain(struct pw_link *link)
{
	mutex_lock(&link->io_lock);
	link->draining = true;
	pw_io_shutdown_locked(link, false);
	mutex_unlock(&link->io_lock);
}

/**
 * pw_io_close() - teardown, last step: no I/O any more.
 * @link: the link
 */
void pw_io_close(struct pw_link *link)
{
	mutex_lock(&link->io_lock);
	link->draining = true;
	link->closing = true;
	pw_io_shutdown_locked(link, true);
	mutex_unlock(&link->io_lock);
}

/* ------------------------------------------------------------ socket helpers */

static void pw_set_io_timeouts(struct socket *sock, unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	if (left < 1)
		left = 1;
	WRITE_ONCE(sock->sk->sk_sndtimeo, left);
	WRITE_ONCE(sock->sk->sk_rcvtimeo, left);
}

static int pw_send_all(struct socket *sock, const u8 *buf, size_t len,
		       unsigned long deadline)
{
	while (len) {
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		struct kvec vec = { .iov_base = (void *)buf, .iov_len = len };
		int n;

		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		pw_set_io_timeouts(sock, deadline);
		n = kernel_sendmsg(sock, &msg, &vec, 1, len);
		if (n == -EAGAIN)
			return -ETIMEDOUT;
		if (n < 0)
			return n;
		if (n == 0)
			return -EPIPE;
		buf += n;
		len -= n;
	}
	return 0;
}

static int pw_recv_all(struct socket *sock, u8 *buf, size_t len,
		       unsigned long deadline)
{
	while (len) {
		struct msghdr msg = {};
		struct kvec vec = { .iov_base = buf, .iov_len = len };
		int n;

		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		pw_set_io_timeouts(sock, deadline);
		n = kernel_recvmsg(sock, &msg, &vec, 1, len, MSG_WAITALL);
		if (n == -EAGAIN)
			return -ETIMEDOUT;
		if (n < 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		buf += n;
		len -= n;
	}
	return 0;
}

static void pw_set_connect_timeout(struct socket *sock, unsigned int ms)
{
	struct __kernel_sock_timeval tv = {
		.tv_sec = ms / MSEC_PER_SEC,
		.tv_usec = (ms % MSEC_PER_SEC) * USEC_PER_MSEC,
	};

	/* vsock's own default is 2 s too; this makes it explicit. */
	sock->ops->setsockopt(sock, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW,
			      KERNEL_SOCKPTR(&tv), sizeof(tv));
}

/* ------------------------------------------------------------ requests */

/* Reads the answer's header and body; *resp is kvmalloc'ed (or NULL if empty). */
static int pw_read_answer(struct pw_link *link, struct socket *sock, u8 op,
			  u8 want_op, unsigned long deadline, u8 **resp,
			  u32 *resp_len)
{
	u8 hbuf[PW_HDR_LEN];
	char why[PW_WHY_LEN];
	struct pw_hdr hdr;
	u8 *body;
	int err;

	err = pw_recv_all(sock, hbuf, sizeof(hbuf), deadline);
	if (err) {
		netdev_warn(link->dev, "%s: no answer from the host (%d)\n",
			    pw_op_name(op), err);
		return err;
	}
	err = pw_hdr_decode(hbuf, &hdr, why);
	if (err) {
		netdev_warn(link->dev, "%s: malformed answer: %s\n",
			    pw_op_name(op), why);
		return err;
	}
	err = pw_answer_check(&hdr, want_op, why);
	if (err) {
		netdev_warn(link->dev, "%s: %s%s\n", pw_op_name(op),
			    err == -EBADMSG ? "malformed answer: " : "", why);
		return err;
	}
	if (!hdr.size)
		return 0;
	body = kvmalloc(hdr.size, GFP_KERNEL);
	if (!body)
		return -ENOMEM;
	err = pw_recv_all(sock, body, hdr.size, deadline);
	if (err) {
		netdev_warn(link->dev, "%s: answer cut short: %u-byte body announced (%d)\n",
			    pw_op_name(op), hdr.size, err);
		kvfree(body);
		return err;
	}
	*resp = body;
	*resp_len = hdr.size;
	return 0;
}

/**
 * pw_request - one request to the host and its answer
 * @link: the link
 * @op: request operation
 * @body: request body
 * @len: its length
 * @want_op: the answer's operation
 * @resp: the answer's body (kvmalloc'ed, NULL when empty; caller frees)
 * @resp_len: its length
 *
 * Sleeps (never call it under rtnl or from a cfg80211 callback). Every failure
 * is logged.
 *
 * Return: 0 or a negative errno.
 */
int pw_request(struct pw_link *link, u8 op, const u8 *body, u32 len,
	       u8 want_op, u8 **resp, u32 *resp_len)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = pw_host_cid,
		.svm_port = pw_request_port,
	};
	struct pw_io io = {};
	unsigned int timeout_ms;
	unsigned long deadline;
	u8 *msg;
	int err;

	*resp = NULL;
	*resp_len = 0;
	msg = kmalloc(PW_HDR_LEN + len, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	pw_hdr_encode(msg, op, len);
	memcpy(msg + PW_HDR_LEN, body, len);

	err = sock_create_kern(&init_net, AF_VSOCK, SOCK_STREAM, 0, &io.sock);
	if (err) {
		netdev_warn(link->dev, "%s: cannot create a vsock socket (%d)\n",
			    pw_op_name(op), err);
		goto out_free;
	}
	err = pw_io_add(link, &io);
	if (err)
		goto out_release;
	timeout_ms = io.short_deadline ? PW_DRAIN_TIMEOUT_MS : PW_REQUEST_TIMEOUT_MS;
	pw_set_connect_timeout(io.sock, min(timeout_ms, PW_CONNECT_TIMEOUT_MS));

	err = kernel_connect(io.sock, PW_SOCKADDR(&addr), sizeof(addr), 0);
	if (err) {
		netdev_warn(link->dev, "%s: cannot reach the host at vsock %u:%u (%d)\n",
			    pw_op_name(op), pw_host_cid, pw_request_port, err);
		goto out_del;
	}
	deadline = jiffies + msecs_to_jiffies(timeout_ms);
	err = pw_send_all(io.sock, msg, PW_HDR_LEN + len, deadline);
	if (err) {
		netdev_warn(link->dev, "%s: sending failed (%d)\n",
			    pw_op_name(op), err);
		goto out_del;
	}
	err = pw_read_answer(link, io.sock, op, want_op, deadline, resp, resp_len);
out_del:
	pw_io_del(link, &io);
out_release:
	sock_release(io.sock);
out_free:
	kfree_sensitive(msg);
	return err;
}

/* ------------------------------------------------------------ notifications */

struct pw_notif_read {
	struct work_struct work;
	struct pw_link *link;
	struct pw_io io;
};

/*
 * Applies what waits (see struct pw_link): scan results, then a
 * disconnection. Queued on the ordered queue whenever one is stored, so it
 * always runs after the last one; the link's teardown flushes the reader and
 * ordered queues in that order, which leaves nothing stored.
 */
static void pw_notif_work(struct work_struct *work)
{
	struct pw_link *link = container_of(work, struct pw_link, notif_work);
	u64 disc_session;
	u32 scan_len;
	bool disc;
	u8 *scan;

	spin_lock(&link->notif_lock);
	scan = link->notif_scan;
	scan_len = link->notif_scan_len;
	disc = link->notif_disc;
	disc_session = link->notif_disc_session;
	link->notif_scan = NULL;
	link->notif_disc = false;
	spin_unlock(&link->notif_lock);

	if (scan)
		pw_apply_scan_results(link, scan, scan_len);
	if (disc)
		pw_apply_disconnected(link, disc_session);
}

/* Reads one notification; returns its header and kvmalloc'ed body. */
static int pw_notif_read(struct socket *sock, struct pw_hdr *hdr, u8 **body,
			 char *why)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(PW_NOTIF_TIMEOUT_MS);
	u8 hbuf[PW_HDR_LEN];
	int err;

	*body = NULL;
	err = pw_recv_all(sock, hbuf, sizeof(hbuf), deadline);
	if (err) {
		snprintf(why, PW_WHY_LEN, "no complete header within %u ms (%d)",
			 PW_NOTIF_TIMEOUT_MS, err);
		return err;
	}
	err = pw_hdr_decode(hbuf, hdr, why);
	if (err)
		return err;
	err = pw_notif_check(hdr, why);
	if (err)
		return err;
	*body = kvmalloc(hdr->size, GFP_KERNEL);
	if (!*body)
		return -ENOMEM;
	err = pw_recv_all(sock, *body, hdr->size, deadline);
	if (err) {
		snprintf(why, PW_WHY_LEN, "%s body of %u bytes not complete within %u ms (%d)",
			 pw_op_name(hdr->op), hdr->size, PW_NOTIF_TIMEOUT_MS, err);
		kvfree(*body);
		*body = NULL;
	}
	return err;
}

/*
 * Stores a parsed notification for pw_notif_work(): the newest scan results
 * replace older ones not applied yet; of several disconnections the highest
 * session is kept, which is what applying them one after the other would do
 * (the first that ends the current session leaves the link idle, and the
 * others are then ignored).
 */
static void pw_notif_dispatch(struct pw_link *link, const struct pw_hdr *hdr,
			      u8 *body, char *why)
{
	struct pw_notif notif;
	u64 replaced = 0;
	u8 *old = NULL;

	if (pw_notif_parse(hdr, body, &notif, why)) {
		if (net_ratelimit())
			netdev_warn(link->dev, "%s refused: %s\n",
				    hdr->op == PW_OP_SCAN_RESPONSE ?
				    "scan-results notification" : "notification",
				    why);
		kvfree(body);
		return;
	}
	if (notif.op == PW_OP_NOTIF_SIGNAL_QUALITY) {
		pw_apply_signal(link, notif.signal_dbm);
		kvfree(body);
		return;
	}
	spin_lock(&link->notif_lock);
	if (notif.op == PW_OP_NOTIF_DISCONNECTED) {
		if (!link->notif_disc ||
		    notif.session_id > link->notif_disc_session)
			link->notif_disc_session = notif.session_id;
		link->notif_disc = true;
		old = body;
	} else {
		old = link->notif_scan;
		link->notif_scan = body;
		link->notif_scan_len = hdr->size;
		if (old)
			replaced = ++link->notif_scan_replaced;
	}
	spin_unlock(&link->notif_lock);
	kvfree(old);
	if (replaced)
		netdev_dbg(link->dev, "scan results not applied yet replaced by newer ones (%llu so far)\n",
			   replaced);
	queue_work(link->op_wq, &link->notif_work);
}

static void pw_notif_read_work(struct work_struct *work)
{
	struct pw_notif_read *r = container_of(work, struct pw_notif_read, work);
	struct pw_link *link = r->link;
	char why[PW_WHY_LEN] = "";
	struct pw_hdr hdr;
	u8 *body;
	int err;

	err = pw_notif_read(r->io.sock, &hdr, &body, why);
	pw_io_del(link, &r->io);
	sock_release(r->io.sock);
	kfree(r);
	atomic_dec(&link->notif_reads);

	if (err) {
		if (net_ratelimit())
			netdev_warn(link->dev, "notification refused: %s\n", why);
		return;
	}
	pw_notif_dispatch(link, &hdr, body, why);
}

/*
 * Refused peers of the notification listener have their own limit, so a flood
 * of other warnings cannot hide them (and theirs cannot hide others).
 */
static DEFINE_RATELIMIT_STATE(pw_peer_ratelimit, 5 * HZ, 10);

/*
 * Whether a notification connection may be read: it must come from the host's
 * CID (host_cid; anyone else, such as a process of this guest over vsock
 * loopback, could otherwise end the guest's connection or inject networks)
 * and, with notif_privileged_port, from a source port below 1024, which only a
 * privileged host process can bind. Refusals are logged, rate-limited.
 */
static bool pw_notif_peer_ok(struct pw_link *link, struct socket *sock)
{
	struct sockaddr_vm peer = {};
	int err;

	err = kernel_getpeername(sock, (struct sockaddr *)&peer);
	if (err < 0) {
		if (__ratelimit(&pw_peer_ratelimit))
			netdev_warn(link->dev, "notification refused: no peer address (%d)\n",
				    err);
		return false;
	}
	if (peer.svm_cid != pw_host_cid) {
		if (__ratelimit(&pw_peer_ratelimit))
			netdev_warn(link->dev,
				    "notification from vsock CID %u port %u refused: only the host (host_cid=%u) is trusted\n",
				    peer.svm_cid, peer.svm_port, pw_host_cid);
		return false;
	}
	if (pw_notif_privileged_port && peer.svm_port > LAST_RESERVED_PORT) {
		if (__ratelimit(&pw_peer_ratelimit))
			netdev_warn(link->dev,
				    "notification from vsock CID %u port %u refused: notif_privileged_port=1 accepts source ports below %u only\n",
				    peer.svm_cid, peer.svm_port, LAST_RESERVED_PORT + 1);
		return false;
	}
	netdev_dbg(link->dev, "notification connection from vsock CID %u port %u\n",
		   peer.svm_cid, peer.svm_port);
	return true;
}

static void pw_notif_accepted(struct pw_link *link, struct socket *sock)
{
	struct pw_notif_read *r;

	if (!pw_notif_peer_ok(link, sock)) {
		sock_release(sock);
		return;
	}
	if (atomic_inc_return(&link->notif_reads) > PW_MAX_NOTIF_READS) {
		if (net_ratelimit())
			netdev_warn(link->dev, "more than %d notifications at once: one refused\n",
				    PW_MAX_NOTIF_READS);
		goto refuse;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		goto refuse;
	r->link = link;
	r->io.sock = sock;
	if (pw_io_add(link, &r->io)) {
		kfree(r);
		goto refuse;
	}
	INIT_WORK(&r->work, pw_notif_read_work);
	queue_work(link->notif_wq, &r->work);
	return;
refuse:
	atomic_dec(&link->notif_reads);
	sock_release(sock);
}

static int pw_listen_socket(struct socket **out)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = pw_notification_port,
	};
	struct socket *sock;
	int err;

	err = sock_create_kern(&init_net, AF_VSOCK, SOCK_STREAM, 0, &sock);
	if (err)
		return err;
	err = kernel_bind(sock, PW_SOCKADDR(&addr), sizeof(addr));
	if (!err)
		err = kernel_listen(sock, PW_MAX_NOTIF_READS);
	if (err) {
		sock_release(sock);
		return err;
	}
	/* accept() returns -EAGAIN after this, so the thread can be stopped. */
	WRITE_ONCE(sock->sk->sk_rcvtimeo, msecs_to_jiffies(PW_ACCEPT_POLL_MS));
	*out = sock;
	return 0;
}

static int pw_listener_thread(void *data)
{
	const unsigned long retry = msecs_to_jiffies(PW_LISTEN_RETRY_MS);
	struct pw_link *link = data;
	struct socket *lsock = NULL;
	bool complained = false;

	while (!kthread_should_stop()) {
		struct socket *nsock;
		int err;

		if (!lsock) {
			err = pw_listen_socket(&lsock);
			if (err) {
				if (!complained)
					netdev_warn(link->dev,
						    "cannot listen for notifications on vsock port %u (%d); retrying\n",
						    pw_notification_port, err);
				complained = true;
				schedule_timeout_interruptible(retry);
				continue;
			}
			if (complained)
				netdev_info(link->dev, "listening for notifications on vsock port %u\n",
					    pw_notification_port);
		}
		err = kernel_accept(lsock, &nsock, 0);
		if (err == -EAGAIN || err == -EINTR || err == -ERESTARTSYS)
			continue;
		if (err) {
			if (net_ratelimit())
				netdev_warn(link->dev,
					    "accepting a notification failed (%d)\n", err);
			schedule_timeout_interruptible(msecs_to_jiffies(PW_ACCEPT_POLL_MS));
			continue;
		}
		pw_notif_accepted(link, nsock);
	}
	if (lsock)
		sock_release(lsock);
	return 0;
}

/**
 * pw_listener_start() - starts the link's notification listener thread.
 * @link: the link
 *
 * Also sets up where parsed notifications wait for the ordered queue.
 *
 * Return: 0, or a negative errno.
 */
int pw_listener_start(struct pw_link *link)
{
	struct task_struct *task;

	spin_lock_init(&link->notif_lock);
	INIT_WORK(&link->notif_work, pw_notif_work);
	task = kthread_run(pw_listener_thread, link, "proxy_wifi_notif");
	if (IS_ERR(task))
		return PTR_ERR(task);
	link->listener = task;
	return 0;
}

/**
 * pw_listener_stop() - stops the notification listener and waits for it.
 * @link: the link
 */
void pw_listener_stop(struct pw_link *link)
{
	if (link->listener) {
		kthread_stop(link->listener);
		link->listener = NULL;
	}
}
