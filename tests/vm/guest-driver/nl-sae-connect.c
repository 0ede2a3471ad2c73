// SPDX-License-Identifier: MIT
/*
 * nl-sae-connect: asks a FullMAC station interface to join a WPA3-SAE network with the
 * SAE password handed to the driver (SAE offload), the way an SAE-offload supplicant
 * does, and prints the outcome.
 *
 *   nl-sae-connect IFNAME SSID PASSWORD [TIMEOUT_SECONDS]
 *
 * Sends NL80211_CMD_CONNECT with NL80211_ATTR_AUTH_TYPE SAE, AKM SAE, WPA version 3,
 * CCMP pairwise and group ciphers, management frame protection required and
 * NL80211_ATTR_SAE_PASSWORD, then waits (default 20 s) for the interface's CONNECT
 * event on nl80211's "mlme" multicast group and prints
 *   status N bssid XX:XX:XX:XX:XX:XX after T ms
 * Exit: 0 status 0 (connected), 1 another status (refused), 2 the request itself was
 * refused or a netlink error, 3 no CONNECT event in time.
 *
 * Built by tests/vm/guest-driver/run.sh with libnl-3 and libnl-genl-3.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/nl80211.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

/* Suite selectors (OUI 00-0F-AC). */
#define SUITE_CCMP 0x000fac04u
#define SUITE_SAE 0x000fac08u

struct outcome {
	unsigned int ifindex;
	int done;
	int status;
	int timed_out;
	unsigned char bssid[6];
	int have_bssid;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the first CONNECT event of our interface. */
static int on_event(struct nl_msg *msg, void *arg)
{
	struct outcome *out = arg;
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[NL80211_ATTR_MAX + 1];

	if (gnlh->cmd != NL80211_CMD_CONNECT || out->done)
		return NL_SKIP;
	if (nla_parse(tb, NL80211_ATTR_MAX, genlmsg_attrdata(gnlh, 0),
		      genlmsg_attrlen(gnlh, 0), NULL) < 0)
		return NL_SKIP;
	if (!tb[NL80211_ATTR_IFINDEX] ||
	    nla_get_u32(tb[NL80211_ATTR_IFINDEX]) != out->ifindex)
		return NL_SKIP;
	/* cfg80211 leaves the status out only for a timeout, which it flags. */
	out->status = tb[NL80211_ATTR_STATUS_CODE] ?
		nla_get_u16(tb[NL80211_ATTR_STATUS_CODE]) : -1;
	out->timed_out = tb[NL80211_ATTR_TIMED_OUT] != NULL;
	if (tb[NL80211_ATTR_MAC] && nla_len(tb[NL80211_ATTR_MAC]) == 6) {
		memcpy(out->bssid, nla_data(tb[NL80211_ATTR_MAC]), 6);
		out->have_bssid = 1;
	}
	out->done = 1;
	return NL_OK;
}

/* A socket subscribed to nl80211's "mlme" group, before the request goes out. */
static struct nl_sock *event_socket(struct outcome *out)
{
	struct nl_sock *sock = nl_socket_alloc();
	int group;

	if (!sock || genl_connect(sock) < 0) {
		fprintf(stderr, "cannot open a generic netlink socket\n");
		goto fail;
	}
	group = genl_ctrl_resolve_grp(sock, "nl80211", "mlme");
	if (group < 0) {
		fprintf(stderr, "nl80211 has no mlme group: %s\n", nl_geterror(group));
		goto fail;
	}
	if (nl_socket_add_membership(sock, group) < 0) {
		fprintf(stderr, "cannot join nl80211's mlme group\n");
		goto fail;
	}
	nl_socket_disable_seq_check(sock);
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_event, out);
	return sock;
fail:
	nl_socket_free(sock);
	return NULL;
}

/* Sends the connect request; 0 when nl80211 accepted it, else a libnl error. */
static int send_connect(struct nl_sock *sock, int family, unsigned int ifindex,
			const char *ssid, const char *password)
{
	uint32_t akm = SUITE_SAE, pairwise = SUITE_CCMP;
	struct nl_msg *msg = nlmsg_alloc();
	int err = -NLE_NOMEM;

	if (!msg)
		return err;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
			 NL80211_CMD_CONNECT, 0) ||
	    nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex) < 0 ||
	    nla_put(msg, NL80211_ATTR_SSID, (int)strlen(ssid), ssid) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_AUTH_TYPE, NL80211_AUTHTYPE_SAE) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_WPA_VERSIONS, NL80211_WPA_VERSION_3) < 0 ||
	    nla_put(msg, NL80211_ATTR_AKM_SUITES, sizeof(akm), &akm) < 0 ||
	    nla_put(msg, NL80211_ATTR_CIPHER_SUITES_PAIRWISE, sizeof(pairwise),
		    &pairwise) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_CIPHER_SUITE_GROUP, SUITE_CCMP) < 0 ||
	    nla_put_flag(msg, NL80211_ATTR_PRIVACY) < 0 ||
	    nla_put_u32(msg, NL80211_ATTR_USE_MFP, NL80211_MFP_REQUIRED) < 0 ||
	    nla_put(msg, NL80211_ATTR_SAE_PASSWORD, (int)strlen(password),
		    password) < 0)
		goto out;
	err = nl_send_auto(sock, msg);
	if (err >= 0)
		err = nl_wait_for_ack(sock);
out:
	nlmsg_free(msg);
	return err;
}

int main(int argc, char **argv)
{
	struct outcome out = { 0 };
	struct nl_sock *cmd = NULL, *events = NULL;
	long long start, deadline;
	int family, err, rc = 2;
	long timeout_s = 20;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s IFNAME SSID PASSWORD [TIMEOUT_SECONDS]\n", argv[0]);
		return 2;
	}
	if (strlen(argv[2]) == 0 || strlen(argv[2]) > 32) {
		fprintf(stderr, "SSID '%s': 1 to 32 bytes expected\n", argv[2]);
		return 2;
	}
	if (argc == 5) {
		char *end;

		timeout_s = strtol(argv[4], &end, 10);
		if (*end || timeout_s <= 0 || timeout_s > 600) {
			fprintf(stderr, "timeout '%s': 1 to 600 seconds expected\n", argv[4]);
			return 2;
		}
	}
	out.ifindex = if_nametoindex(argv[1]);
	if (!out.ifindex) {
		fprintf(stderr, "interface '%s': %s\n", argv[1], strerror(errno));
		return 2;
	}

	events = event_socket(&out);
	if (!events)
		goto done;
	cmd = nl_socket_alloc();
	if (!cmd || genl_connect(cmd) < 0) {
		fprintf(stderr, "cannot open a generic netlink socket\n");
		goto done;
	}
	family = genl_ctrl_resolve(cmd, "nl80211");
	if (family < 0) {
		fprintf(stderr, "nl80211 not found: %s\n", nl_geterror(family));
		goto done;
	}

	start = now_ms();
	err = send_connect(cmd, family, out.ifindex, argv[2], argv[3]);
	if (err < 0) {
		fprintf(stderr, "connect request refused: %s\n", nl_geterror(err));
		goto done;
	}
	deadline = start + timeout_s * 1000;
	while (!out.done) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(events), .events = POLLIN };
		long long left = deadline - now_ms();

		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			perror("poll");
			goto done;
		}
		if (pfd.revents & POLLIN) {
			err = nl_recvmsgs_default(events);
			if (err < 0 && err != -NLE_NOMEM)
				fprintf(stderr, "reading events: %s\n", nl_geterror(err));
		}
	}
	if (!out.done) {
		printf("no CONNECT event within %ld s\n", timeout_s);
		rc = 3;
		goto done;
	}
	printf("status %d", out.status);
	if (out.timed_out)
		printf(" (timed out)");
	if (out.have_bssid)
		printf(" bssid %02x:%02x:%02x:%02x:%02x:%02x", out.bssid[0], out.bssid[1],
		       out.bssid[2], out.bssid[3], out.bssid[4], out.bssid[5]);
	printf(" after %lld ms\n", now_ms() - start);
	rc = out.status == 0 ? 0 : 1;
done:
	nl_socket_free(cmd);
	nl_socket_free(events);
	return rc;
}
