// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi: the wiphy, its cfg80211 operations and the link's state.
 *
 * cfg80211 callbacks never touch the network: they record what was asked,
 * queue work on the link's ordered workqueue and return. The work items make
 * the request to the host and report the outcome to cfg80211 under the link's
 * mutex, after checking that the operation is still the current one (the
 * interface may have gone down, or the user may have given up meanwhile).
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/etherdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>

#include "proxy_wifi.h"

/* ------------------------------------------------------------ the wiphy */

#define PW_RATE(r)	{ .bitrate = (r) }

static struct ieee80211_rate pw_rates[] = {
	PW_RATE(10), PW_RATE(20), PW_RATE(55), PW_RATE(110),
	PW_RATE(60), PW_RATE(90), PW_RATE(120), PW_RATE(180),
	PW_RATE(240), PW_RATE(360), PW_RATE(480), PW_RATE(540),
};

#define PW_OFDM_RATES	4	/* index of the first OFDM rate */

/*
 * The channels the host may report: 2412-2484 MHz (1-14), 5160-5885 MHz
 * (32-144 and 149-177, every fourth) and 5955-7115 MHz (6 GHz 1-233).
 */
#define PW_N_2GHZ	14
#define PW_N_5GHZ	(29 + 8)
#define PW_N_6GHZ	59

static struct ieee80211_channel pw_channels_2ghz[PW_N_2GHZ];
static struct ieee80211_channel pw_channels_5ghz[PW_N_5GHZ];
static struct ieee80211_channel pw_channels_6ghz[PW_N_6GHZ];

static struct ieee80211_supported_band pw_band_2ghz = {
	.band = NL80211_BAND_2GHZ,
	.channels = pw_channels_2ghz,
	.n_channels = PW_N_2GHZ,
	.bitrates = pw_rates,
	.n_bitrates = ARRAY_SIZE(pw_rates),
};

static struct ieee80211_supported_band pw_band_5ghz = {
	.band = NL80211_BAND_5GHZ,
	.channels = pw_channels_5ghz,
	.n_channels = PW_N_5GHZ,
	.bitrates = pw_rates + PW_OFDM_RATES,
	.n_bitrates = ARRAY_SIZE(pw_rates) - PW_OFDM_RATES,
};

/*
 * A 6 GHz band must describe HE (802.11ax) capabilities: the minimum, one
 * spatial stream with MCS 0-7 at up to 80 MHz. The host does the real radio
 * work; these only make cfg80211 accept the band.
 */
static const struct ieee80211_sband_iftype_data pw_iftype_6ghz[] = {
	{
		.types_mask = BIT(NL80211_IFTYPE_STATION),
		.he_cap = {
			.has_he = true,
			.he_mcs_nss_supp = {
				.rx_mcs_80 = cpu_to_le16(0xfffc),
				.tx_mcs_80 = cpu_to_le16(0xfffc),
				.rx_mcs_160 = cpu_to_le16(0xffff),
				.tx_mcs_160 = cpu_to_le16(0xffff),
				.rx_mcs_80p80 = cpu_to_le16(0xffff),
				.tx_mcs_80p80 = cpu_to_le16(0xffff),
			},
		},
	},
};

static struct ieee80211_supported_band pw_band_6ghz = {
	.band = NL80211_BAND_6GHZ,
	.channels = pw_channels_6ghz,
	.n_channels = PW_N_6GHZ,
	.bitrates = pw_rates + PW_OFDM_RATES,
	.n_bitrates = ARRAY_SIZE(pw_rates) - PW_OFDM_RATES,
};

static void pw_set_channel(struct ieee80211_channel *chan,
			   enum nl80211_band band, u32 mhz, u16 hw_value)
{
	chan->band = band;
	chan->center_freq = mhz;
	chan->hw_value = hw_value;
	chan->max_power = 20;
}

static void pw_fill_channels(void)
{
	unsigned int i, n = 0;
	u16 ch;

	for (i = 0; i < 13; i++)
		pw_set_channel(&pw_channels_2ghz[i], NL80211_BAND_2GHZ,
			       2412 + 5 * i, i + 1);
	pw_set_channel(&pw_channels_2ghz[13], NL80211_BAND_2GHZ, 2484, 14);

	for (ch = 32; ch <= 144; ch += 4)
		pw_set_channel(&pw_channels_5ghz[n++], NL80211_BAND_5GHZ,
			       5000 + 5 * ch, ch);
	for (ch = 149; ch <= 177; ch += 4)
		pw_set_channel(&pw_channels_5ghz[n++], NL80211_BAND_5GHZ,
			       5000 + 5 * ch, ch);

	for (i = 0; i < PW_N_6GHZ; i++) {
		ch = 1 + 4 * i;
		pw_set_channel(&pw_channels_6ghz[i], NL80211_BAND_6GHZ,
			       5950 + 5 * ch, ch);
	}
}

static const u32 pw_cipher_suites[] = {
	WLAN_CIPHER_SUITE_CCMP,
	WLAN_CIPHER_SUITE_GCMP,
	WLAN_CIPHER_SUITE_CCMP_256,
	WLAN_CIPHER_SUITE_GCMP_256,
	WLAN_CIPHER_SUITE_TKIP,
	/* The host protects management frames; SAE networks require it. */
	WLAN_CIPHER_SUITE_AES_CMAC,
};

static const u32 pw_akm_suites[] = {
	WLAN_AKM_SUITE_PSK,
	WLAN_AKM_SUITE_SAE,
};

/*
 * The self-managed regulatory domain: every channel above, 20 dBm. The host's
 * own domain decides where its radio may transmit; this only keeps cfg80211
 * from disabling what the host reports (see README.md, "6 GHz").
 */
static struct ieee80211_regdomain pw_regdom = {
	.n_reg_rules = 3,
	.alpha2 = "00",
	.reg_rules = {
		REG_RULE(2412 - 10, 2484 + 10, 40, 0, 20, 0),
		REG_RULE(5160 - 10, 5885 + 10, 160, 0, 20, 0),
		REG_RULE(5955 - 10, 7115 + 10, 160, 0, 20, 0),
	},
};

/**
 * pw_wiphy_link() - the wiphy's slot for its one link.
 * @wiphy: the module's wiphy
 *
 * Return: the slot (NULL while no link exists); changed under rtnl only.
 */
struct pw_link **pw_wiphy_link(struct wiphy *wiphy)
{
	return wiphy_priv(wiphy);
}

static struct pw_link *pw_link_of(struct net_device *dev)
{
	return netdev_priv(dev);
}

/* ------------------------------------------------------------ scans */

/* Adds one host BSS to cfg80211's list; unknown channels are skipped. */
static void pw_inform_bss(struct pw_link *link, const struct pw_bss *entry)
{
	struct cfg80211_inform_bss data = {};
	struct ieee80211_channel *chan;
	struct cfg80211_bss *bss;
	s32 rssi;

	chan = ieee80211_get_channel_khz(link->wiphy, entry->freq_khz);
	if (!chan) {
		netdev_dbg(link->dev, "BSS %pM on unknown frequency %u kHz skipped\n",
			   entry->bssid, entry->freq_khz);
		return;
	}
	rssi = clamp_t(s32, entry->rssi_dbm, -200, 0);
	data.chan = chan;
	data.signal = rssi * 100;
	data.boottime_ns = ktime_get_boottime_ns();
	bss = cfg80211_inform_bss_data(link->wiphy, &data,
				       CFG80211_BSS_FTYPE_UNKNOWN, entry->bssid,
				       0, entry->capability,
				       entry->beacon_interval, entry->ies,
				       entry->ie_len, GFP_KERNEL);
	if (!bss) {
		netdev_dbg(link->dev, "cfg80211 did not keep BSS %pM (%u kHz)\n",
			   entry->bssid, entry->freq_khz);
		return;
	}
	cfg80211_put_bss(link->wiphy, bss);
}

/* Informs every entry, or only the one with @bssid when it is not NULL. */
static void pw_inform_all(struct pw_link *link, const struct pw_scan_resp *resp,
			  const u8 *bssid)
{
	struct pw_bss entry;
	u32 i;

	for (i = 0; i < resp->num_bss; i++) {
		pw_scan_resp_entry(resp, i, &entry);
		if (bssid && !ether_addr_equal(bssid, entry.bssid))
			continue;
		pw_inform_bss(link, &entry);
	}
}

/* Keeps @body (taking ownership) as the newest scan answer. Lock held. */
static void pw_keep_last_scan(struct pw_link *link, u8 *body, u32 len)
{
	kvfree(link->last_scan);
	link->last_scan = body;
	link->last_scan_len = len;
}

static void pw_scan_finish_locked(struct pw_link *link, bool aborted)
{
	struct cfg80211_scan_info info = { .aborted = aborted };
	struct cfg80211_scan_request *req = link->scan_req;

	lockdep_assert_held(&link->lock);
	if (!req)
		return;
	link->scan_req = NULL;
	link->scan_waiting = false;
	link->scan_deferred = false;
	cfg80211_scan_done(req, &info);
}

/* Ends the scan, or holds the outcome until it lasted PW_SCAN_MIN_MS. */
static void pw_scan_complete_locked(struct pw_link *link, bool aborted)
{
	unsigned long done_at = link->scan_started + msecs_to_jiffies(PW_SCAN_MIN_MS);

	lockdep_assert_held(&link->lock);
	if (!time_before(jiffies, done_at)) {
		pw_scan_finish_locked(link, aborted);
		return;
	}
	link->scan_deferred = true;
	link->scan_deferred_aborted = aborted;
	link->scan_timeout_gen = link->scan_gen;
	mod_delayed_work(link->op_wq, &link->scan_timeout, done_at - jiffies);
}

static void pw_scan_work(struct work_struct *work)
{
	struct pw_link *link = container_of(work, struct pw_link, scan_work);
	u8 ssid[IEEE80211_MAX_SSID_LEN];
	u8 body[PW_SCAN_REQ_LEN];
	struct pw_scan_resp resp;
	char why[PW_WHY_LEN];
	u8 ssid_len = 0;
	u8 *answer;
	u32 len;
	u64 gen;
	int err;

	mutex_lock(&link->lock);
	if (!link->scan_req || link->scan_waiting || link->scan_deferred) {
		mutex_unlock(&link->lock);
		return;
	}
	gen = link->scan_gen;
	if (link->scan_req->n_ssids > 0) {
		ssid_len = min_t(u8, link->scan_req->ssids[0].ssid_len,
				 IEEE80211_MAX_SSID_LEN);
		memcpy(ssid, link->scan_req->ssids[0].ssid, ssid_len);
	}
	mutex_unlock(&link->lock);

	pw_scan_req_encode(body, ssid, ssid_len);
	err = pw_request(link, PW_OP_SCAN_REQUEST, body, sizeof(body),
			 PW_OP_SCAN_RESPONSE, &answer, &len);
	if (!err) {
		err = pw_scan_resp_parse(answer, len, &resp, why);
		if (err) {
			netdev_warn(link->dev, "scan failed: malformed answer: %s\n", why);
			kvfree(answer);
		} else {
			pw_inform_all(link, &resp, NULL);
		}
	}

	mutex_lock(&link->lock);
	if (!err)
		pw_keep_last_scan(link, answer, len);
	if (!link->scan_req || link->scan_gen != gen) {
		/* The scan was aborted meanwhile; the results are kept. */
	} else if (err) {
		pw_scan_complete_locked(link, true);
	} else if (resp.complete) {
		pw_scan_complete_locked(link, false);
	} else {
		/* The host sends the rest later; wait for it, but not forever. */
		link->scan_waiting = true;
		link->scan_timeout_gen = gen;
		mod_delayed_work(link->op_wq, &link->scan_timeout,
				 msecs_to_jiffies(PW_SCAN_WAIT_MS));
	}
	mutex_unlock(&link->lock);
}

static void pw_scan_timeout_work(struct work_struct *work)
{
	struct pw_link *link = container_of(to_delayed_work(work),
					    struct pw_link, scan_timeout);

	mutex_lock(&link->lock);
	if (!link->scan_req || link->scan_gen != link->scan_timeout_gen) {
		/* A timer of an earlier scan. */
	} else if (link->scan_deferred) {
		pw_scan_finish_locked(link, link->scan_deferred_aborted);
	} else if (link->scan_waiting) {
		netdev_dbg(link->dev, "no scan-results notification in %u ms; scan done\n",
			   PW_SCAN_WAIT_MS);
		pw_scan_finish_locked(link, false);
	}
	mutex_unlock(&link->lock);
}

/**
 * pw_apply_scan_results() - applies a scan-results notification.
 * @link: the link
 * @body: the notification's body, validated by pw_notif_parse(); taken over
 * @len: its length
 *
 * Context: the link's ordered workqueue (after earlier answers and notifications).
 */
void pw_apply_scan_results(struct pw_link *link, u8 *body, u32 len)
{
	struct pw_scan_resp resp;
	char why[PW_WHY_LEN];

	/* Checked when it was read; parsing again only builds the view. */
	if (pw_scan_resp_parse(body, len, &resp, why)) {
		kvfree(body);
		return;
	}
	pw_inform_all(link, &resp, NULL);

	mutex_lock(&link->lock);
	pw_keep_last_scan(link, body, len);
	if (resp.complete && link->scan_req && link->scan_waiting &&
	    !link->scan_deferred)
		pw_scan_complete_locked(link, false);
	mutex_unlock(&link->lock);
}

static int pw_cfg_scan(struct wiphy *wiphy, struct cfg80211_scan_request *request)
{
	struct net_device *dev = request->wdev->netdev;
	struct pw_link *link;

	if (!dev)
		return -EOPNOTSUPP;
	link = pw_link_of(dev);

	mutex_lock(&link->lock);
	if (!link->up || link->scan_req) {
		mutex_unlock(&link->lock);
		return -EBUSY;
	}
	link->scan_req = request;
	link->scan_gen++;
	link->scan_started = jiffies;
	link->scan_waiting = false;
	link->scan_deferred = false;
	queue_work(link->op_wq, &link->scan_work);
	mutex_unlock(&link->lock);
	return 0;
}

static void pw_cfg_abort_scan(struct wiphy *wiphy, struct wireless_dev *wdev)
{
	struct pw_link *link;

	if (!wdev->netdev)
		return;
	link = pw_link_of(wdev->netdev);
	mutex_lock(&link->lock);
	pw_scan_finish_locked(link, true);
	mutex_unlock(&link->lock);
}

/* ------------------------------------------------------------ connections */

struct pw_disconnect {
	struct work_struct work;
	struct pw_link *link;
	u64 session_id;
};

static void pw_disconnect_work(struct work_struct *work)
{
	struct pw_disconnect *d = container_of(work, struct pw_disconnect, work);
	u8 body[PW_DISCONNECT_REQ_LEN];
	u8 *answer;
	u32 len;
	int err;

	pw_disconnect_req_encode(body, d->session_id);
	err = pw_request(d->link, PW_OP_DISCONNECT_REQUEST, body, sizeof(body),
			 PW_OP_DISCONNECT_RESPONSE, &answer, &len);
	if (!err) {
		if (len)
			netdev_warn(d->link->dev,
				    "disconnect answer of %u bytes, expected an empty one\n",
				    len);
		kvfree(answer);
	}
	kfree(d);
}

/* Tells the host that the guest left session @session_id (asynchronously). */
static void pw_queue_host_disconnect(struct pw_link *link, u64 session_id)
{
	struct pw_disconnect *d = kzalloc(sizeof(*d), GFP_KERNEL);

	/* Out of memory: the host is not told; its session ends with the next connect. */
	if (!d)
		return;
	INIT_WORK(&d->work, pw_disconnect_work);
	d->link = link;
	d->session_id = session_id;
	queue_work(link->op_wq, &d->work);
}

/*
 * The BSS the host connected to, as cfg80211 knows it. cfg80211 forgets scan
 * results after 30 s; the newest scan answer is informed again in that case.
 */
static struct cfg80211_bss *pw_find_bss(struct pw_link *link, const u8 *bssid,
					const u8 *ssid, u8 ssid_len)
{
	struct cfg80211_bss *bss;
	struct pw_scan_resp resp;
	char why[PW_WHY_LEN];

	bss = cfg80211_get_bss(link->wiphy, NULL, bssid, ssid, ssid_len,
			       IEEE80211_BSS_TYPE_ESS, IEEE80211_PRIVACY_ANY);
	if (bss || !link->last_scan)
		return bss;
	if (pw_scan_resp_parse(link->last_scan, link->last_scan_len, &resp, why))
		return NULL;
	pw_inform_all(link, &resp, bssid);
	return cfg80211_get_bss(link->wiphy, NULL, bssid, ssid, ssid_len,
				IEEE80211_BSS_TYPE_ESS, IEEE80211_PRIVACY_ANY);
}

static void pw_report_connect_failure(struct pw_link *link, const u8 *bssid,
				      u16 status)
{
	if (bssid && is_zero_ether_addr(bssid))
		bssid = NULL;
	cfg80211_connect_bss(link->dev, bssid, NULL, NULL, 0, NULL, 0, status,
			     GFP_KERNEL, NL80211_TIMEOUT_UNSPECIFIED);
}

static void pw_connect_work(struct work_struct *work)
{
	struct pw_link *link = container_of(work, struct pw_link, connect_work);
	struct pw_connect_resp resp = {};
	struct pw_connect_req *req;
	struct cfg80211_bss *bss;
	char why[PW_WHY_LEN];
	u8 *body, *answer;
	u32 len, body_len;
	u64 gen;
	int err;

	mutex_lock(&link->lock);
	req = link->pending_connect;
	link->pending_connect = NULL;
	gen = link->conn_gen;
	mutex_unlock(&link->lock);
	if (!req)
		return;

	body = kmalloc(PW_CONNECT_REQ_FIXED_LEN + PW_MAX_KEY_LEN, GFP_KERNEL);
	if (!body) {
		err = -ENOMEM;
	} else {
		body_len = pw_connect_req_encode(req, body);
		err = pw_request(link, PW_OP_CONNECT_REQUEST, body, body_len,
				 PW_OP_CONNECT_RESPONSE, &answer, &len);
		kfree_sensitive(body);
	}
	if (!err) {
		err = pw_connect_resp_parse(answer, len, &resp, why);
		if (err)
			netdev_warn(link->dev, "connect failed: malformed answer: %s\n", why);
		kvfree(answer);
	}

	mutex_lock(&link->lock);
	if (link->conn != PW_CONNECTING || link->conn_gen != gen) {
		/* Given up meanwhile (already reported): leave the host too. */
		mutex_unlock(&link->lock);
		if (!err && resp.status == WLAN_STATUS_SUCCESS)
			pw_queue_host_disconnect(link, resp.session_id);
		goto out;
	}
	if (err) {
		link->conn = PW_IDLE;
		pw_report_connect_failure(link, req->bssid,
					  WLAN_STATUS_UNSPECIFIED_FAILURE);
		mutex_unlock(&link->lock);
		goto out;
	}
	if (resp.status != WLAN_STATUS_SUCCESS) {
		link->conn = PW_IDLE;
		netdev_info(link->dev, "the host refused the connection to '%.*s': status %u\n",
			    req->ssid_len, req->ssid, resp.status);
		pw_report_connect_failure(link, req->bssid, resp.status);
		mutex_unlock(&link->lock);
		goto out;
	}
	bss = pw_find_bss(link, resp.bssid, req->ssid, req->ssid_len);
	if (!bss) {
		link->conn = PW_IDLE;
		netdev_warn(link->dev,
			    "the host connected to %pM, which no scan reported: connection refused\n",
			    resp.bssid);
		pw_report_connect_failure(link, resp.bssid,
					  WLAN_STATUS_UNSPECIFIED_FAILURE);
		mutex_unlock(&link->lock);
		pw_queue_host_disconnect(link, resp.session_id);
		goto out;
	}
	link->conn = PW_CONNECTED;
	link->session_id = resp.session_id;
	link->signal_dbm = PW_DEFAULT_SIGNAL_DBM;
	ether_addr_copy(link->bssid, resp.bssid);
	/* cfg80211 takes over the reference to bss. */
	cfg80211_connect_bss(link->dev, resp.bssid, bss, NULL, 0, NULL, 0,
			     WLAN_STATUS_SUCCESS, GFP_KERNEL,
			     NL80211_TIMEOUT_UNSPECIFIED);
	if (link->conn_keyed)
		cfg80211_port_authorized(link->dev, resp.bssid, NULL, 0, GFP_KERNEL);
	netif_carrier_on(link->dev);
	mutex_unlock(&link->lock);
out:
	kfree_sensitive(req);
}

/* Builds the wire request from cfg80211's parameters. */
static int pw_connect_req_from(struct net_device *dev,
			       const struct cfg80211_connect_params *sme,
			       struct pw_connect_req *req, bool *keyed)
{
	const struct cfg80211_crypto_settings *c = &sme->crypto;
	const u8 *bssid = sme->bssid ? sme->bssid : sme->bssid_hint;
	const u8 *key = NULL;
	size_t key_len = 0;
	int i;

	if (!sme->ssid_len || sme->ssid_len > IEEE80211_MAX_SSID_LEN)
		return -EINVAL;
	if (c->n_akm_suites > PW_MAX_AKM_SUITES) {
		netdev_warn(dev, "connect: %d AKM suites, the protocol carries %d\n",
			    c->n_akm_suites, PW_MAX_AKM_SUITES);
		return -EINVAL;
	}
	if (c->n_ciphers_pairwise > PW_MAX_PAIRWISE_SUITES)
		return -EINVAL;

	if (c->psk) {
		key = c->psk;
		key_len = WLAN_PMK_LEN;
	} else if (c->sae_pwd) {
		key = c->sae_pwd;
		key_len = c->sae_pwd_len;
	} else if (sme->key) {
		key = sme->key;
		key_len = sme->key_len;
	}
	if (key_len > PW_MAX_KEY_LEN) {
		netdev_warn(dev, "connect: a %zu-byte key, the protocol carries %d\n",
			    key_len, PW_MAX_KEY_LEN);
		return -EINVAL;
	}

	req->ssid_len = sme->ssid_len;
	memcpy(req->ssid, sme->ssid, sme->ssid_len);
	if (bssid)
		ether_addr_copy(req->bssid, bssid);
	req->auth_type = sme->auth_type;
	req->wpa_versions = c->wpa_versions;
	req->n_akm_suites = c->n_akm_suites;
	for (i = 0; i < c->n_akm_suites; i++)
		req->akm_suites[i] = c->akm_suites[i];
	req->n_pairwise = c->n_ciphers_pairwise;
	for (i = 0; i < c->n_ciphers_pairwise; i++)
		req->pairwise[i] = c->ciphers_pairwise[i];
	req->group_cipher = c->cipher_group;
	req->key_len = key_len;
	if (key_len)
		memcpy(req->key, key, key_len);
	*keyed = c->psk || c->sae_pwd;
	return 0;
}

static int pw_cfg_connect(struct wiphy *wiphy, struct net_device *dev,
			  struct cfg80211_connect_params *sme)
{
	struct pw_link *link = pw_link_of(dev);
	struct pw_connect_req *req;
	bool keyed = false;
	int err;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	err = pw_connect_req_from(dev, sme, req, &keyed);
	if (err)
		goto fail;

	mutex_lock(&link->lock);
	if (!link->up || link->conn != PW_IDLE) {
		mutex_unlock(&link->lock);
		err = -EBUSY;
		goto fail;
	}
	link->conn = PW_CONNECTING;
	link->conn_gen++;
	link->conn_keyed = keyed;
	link->pending_connect = req;
	queue_work(link->op_wq, &link->connect_work);
	mutex_unlock(&link->lock);
	return 0;
fail:
	kfree_sensitive(req);
	return err;
}

static int pw_cfg_disconnect(struct wiphy *wiphy, struct net_device *dev,
			     u16 reason_code)
{
	struct pw_link *link = pw_link_of(dev);

	mutex_lock(&link->lock);
	switch (link->conn) {
	case PW_IDLE:
		break;
	case PW_CONNECTING:
		/* The connect work sees the new generation and leaves the host. */
		link->conn = PW_IDLE;
		link->conn_gen++;
		kfree_sensitive(link->pending_connect);
		link->pending_connect = NULL;
		cfg80211_connect_timeout(dev, NULL, NULL, 0, GFP_KERNEL,
					 NL80211_TIMEOUT_UNSPECIFIED);
		break;
	case PW_CONNECTED:
		link->conn = PW_IDLE;
		netif_carrier_off(dev);
		pw_queue_host_disconnect(link, link->session_id);
		cfg80211_disconnected(dev, reason_code, NULL, 0, true, GFP_KERNEL);
		break;
	}
	mutex_unlock(&link->lock);
	return 0;
}

/**
 * pw_apply_disconnected() - applies a disconnected notification.
 * @link: the link
 * @session_id: the session the host ended; an older one than the current is ignored
 *
 * Context: the link's ordered workqueue.
 */
void pw_apply_disconnected(struct pw_link *link, u64 session_id)
{
	mutex_lock(&link->lock);
	if (link->conn != PW_CONNECTED || session_id < link->session_id) {
		netdev_dbg(link->dev, "disconnected notification for session %llu ignored\n",
			   session_id);
	} else {
		netdev_info(link->dev, "the host lost the connection (session %llu)\n",
			    session_id);
		link->conn = PW_IDLE;
		netif_carrier_off(link->dev);
		cfg80211_disconnected(link->dev, WLAN_REASON_UNSPECIFIED, NULL, 0,
				      true, GFP_KERNEL);
	}
	mutex_unlock(&link->lock);
}

/**
 * pw_apply_signal() - records the signal strength a notification reported.
 * @link: the link
 * @signal_dbm: the host's signal, in dBm
 */
void pw_apply_signal(struct pw_link *link, s8 signal_dbm)
{
	mutex_lock(&link->lock);
	link->signal_dbm = signal_dbm;
	mutex_unlock(&link->lock);
}

static void pw_fill_sinfo(struct pw_link *link, struct station_info *sinfo)
{
	sinfo->filled |= BIT_ULL(NL80211_STA_INFO_SIGNAL);
	sinfo->signal = link->signal_dbm;
}

static int pw_cfg_get_station(struct wiphy *wiphy, PW_STA_DEV_ARG,
			      const u8 *mac, struct station_info *sinfo)
{
	struct pw_link *link = pw_link_of(PW_STA_NETDEV());
	int err = -ENOENT;

	mutex_lock(&link->lock);
	if (link->conn == PW_CONNECTED && ether_addr_equal(mac, link->bssid)) {
		pw_fill_sinfo(link, sinfo);
		err = 0;
	}
	mutex_unlock(&link->lock);
	return err;
}

static int pw_cfg_dump_station(struct wiphy *wiphy, PW_STA_DEV_ARG, int idx,
			       u8 *mac, struct station_info *sinfo)
{
	struct pw_link *link = pw_link_of(PW_STA_NETDEV());
	int err = -ENOENT;

	mutex_lock(&link->lock);
	if (idx == 0 && link->conn == PW_CONNECTED) {
		ether_addr_copy(mac, link->bssid);
		pw_fill_sinfo(link, sinfo);
		err = 0;
	}
	mutex_unlock(&link->lock);
	return err;
}

static const struct cfg80211_ops pw_cfg_ops = {
	.scan = pw_cfg_scan,
	.abort_scan = pw_cfg_abort_scan,
	.connect = pw_cfg_connect,
	.disconnect = pw_cfg_disconnect,
	.get_station = pw_cfg_get_station,
	.dump_station = pw_cfg_dump_station,
};

/* ------------------------------------------------------------ link state */

/**
 * pw_link_init_ops() - initializes the link's operation state and work items.
 * @link: the link being created
 */
void pw_link_init_ops(struct pw_link *link)
{
	mutex_init(&link->lock);
	INIT_WORK(&link->scan_work, pw_scan_work);
	INIT_DELAYED_WORK(&link->scan_timeout, pw_scan_timeout_work);
	INIT_WORK(&link->connect_work, pw_connect_work);
	link->conn = PW_IDLE;
	link->signal_dbm = PW_DEFAULT_SIGNAL_DBM;
}

/**
 * pw_link_stop_ops() - ends the link's operations as its interface goes down.
 * @link: the link
 *
 * Finishes the scan now, as cfg80211 requires before the interface is down,
 * and forgets any connection. Nothing here waits for the network; requests in
 * flight find their operation gone.
 *
 * Context: rtnl held (ndo_stop).
 */
void pw_link_stop_ops(struct pw_link *link)
{
	mutex_lock(&link->lock);
	link->up = false;
	pw_scan_finish_locked(link, true);
	if (link->conn == PW_CONNECTED)
		pw_queue_host_disconnect(link, link->session_id);
	link->conn = PW_IDLE;
	link->conn_gen++;
	kfree_sensitive(link->pending_connect);
	link->pending_connect = NULL;
	mutex_unlock(&link->lock);
	cancel_delayed_work(&link->scan_timeout);
}

/**
 * pw_link_free_ops() - frees what the link's state holds.
 * @link: the link, whose workqueues are already flushed
 */
void pw_link_free_ops(struct pw_link *link)
{
	kvfree(link->last_scan);
	link->last_scan = NULL;
	kfree_sensitive(link->pending_connect);
	link->pending_connect = NULL;
}

/* ------------------------------------------------------------ wiphy life */

/**
 * pw_wiphy_destroy() - unregisters and frees the module's wiphy.
 * @wiphy: the wiphy pw_wiphy_create() made
 */
void pw_wiphy_destroy(struct wiphy *wiphy)
{
	wiphy_unregister(wiphy);
	wiphy_free(wiphy);
}

/**
 * pw_wiphy_create() - creates and registers the module's wiphy.
 *
 * Return: the wiphy, or an ERR_PTR().
 */
struct wiphy *pw_wiphy_create(void)
{
	struct wiphy *wiphy;
	int err;

	pw_fill_channels();
	pw_set_sband_iftype_data(&pw_band_6ghz, pw_iftype_6ghz);
	wiphy = wiphy_new(&pw_cfg_ops, sizeof(struct pw_link *));
	if (!wiphy)
		return ERR_PTR(-ENOMEM);

	wiphy->interface_modes = BIT(NL80211_IFTYPE_STATION);
	/*
	 * The host's radio transmits, under the host's regulatory rules. The
	 * guest's domain (often the world domain, which has no 6 GHz rule)
	 * must not disable channels the host reports: cfg80211 drops results
	 * on disabled channels (6.12), and results on passive channels would
	 * send beacon hints to the guest's other radios.
	 */
	wiphy->regulatory_flags |= REGULATORY_WIPHY_SELF_MANAGED;
	wiphy->bands[NL80211_BAND_2GHZ] = &pw_band_2ghz;
	wiphy->bands[NL80211_BAND_5GHZ] = &pw_band_5ghz;
	wiphy->bands[NL80211_BAND_6GHZ] = &pw_band_6ghz;
	wiphy->signal_type = CFG80211_SIGNAL_TYPE_MBM;
	/* Only the first SSID of a scan goes to the host. */
	wiphy->max_scan_ssids = 1;
	/* Extra probe IEs are accepted (and not forwarded: the host probes). */
	wiphy->max_scan_ie_len = IEEE80211_MAX_DATA_LEN;
	wiphy->cipher_suites = pw_cipher_suites;
	wiphy->n_cipher_suites = ARRAY_SIZE(pw_cipher_suites);
	wiphy->akm_suites = pw_akm_suites;
	wiphy->n_akm_suites = ARRAY_SIZE(pw_akm_suites);
	/* The host runs the 4-way handshake (PMK) and SAE (password). */
	wiphy_ext_feature_set(wiphy, NL80211_EXT_FEATURE_4WAY_HANDSHAKE_STA_PSK);
	wiphy_ext_feature_set(wiphy, NL80211_EXT_FEATURE_SAE_OFFLOAD);

	err = wiphy_register(wiphy);
	if (err) {
		wiphy_free(wiphy);
		return ERR_PTR(err);
	}
	/* A self-managed wiphy must always have a domain (nl80211 asks for it). */
	rtnl_lock();
	wiphy_lock(wiphy);
	err = regulatory_set_wiphy_regd_sync(wiphy, &pw_regdom);
	wiphy_unlock(wiphy);
	rtnl_unlock();
	if (err) {
		pw_wiphy_destroy(wiphy);
		return ERR_PTR(err);
	}
	return wiphy;
}
