/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * proxy_wifi wire format, version 0.1: message layouts and checked parsing.
 *
 * All integers are little-endian and all structures packed. Nothing here does
 * I/O: the functions encode requests into caller buffers and validate host
 * answers before anything reads past their fixed part.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#ifndef PW_WIRE_H
#define PW_WIRE_H

#include <linux/if_ether.h>
#include <linux/ieee80211.h>
#include <linux/types.h>

#include "compat.h"

#define PW_HDR_LEN			7
#define PW_PROTOCOL_VERSION		0x0001

enum pw_op {
	PW_OP_INVALID			= 0,
	PW_OP_SCAN_REQUEST		= 1,
	PW_OP_SCAN_RESPONSE		= 2,
	PW_OP_CONNECT_REQUEST		= 3,
	PW_OP_CONNECT_RESPONSE		= 4,
	PW_OP_DISCONNECT_REQUEST	= 5,
	PW_OP_DISCONNECT_RESPONSE	= 6,
	PW_OP_NOTIF_DISCONNECTED	= 7,
	PW_OP_NOTIF_SIGNAL_QUALITY	= 8,
};

#define PW_SCAN_REQ_LEN			33
#define PW_SCAN_RESP_FIXED_LEN		9
#define PW_BSS_ENTRY_LEN		26
#define PW_CONNECT_REQ_FIXED_LEN	76
#define PW_CONNECT_RESP_LEN		16
#define PW_DISCONNECT_REQ_LEN		8
#define PW_NOTIF_DISCONNECTED_LEN	8
#define PW_NOTIF_SIGNAL_LEN		1

#define PW_MAX_AKM_SUITES		2
#define PW_MAX_PAIRWISE_SUITES		5
#define PW_MAX_KEY_LEN			255

/*
 * Largest body accepted from the host. A scan answer of 26 bytes per BSS plus
 * its IEs stays far below this even with hundreds of access points in range.
 */
#define PW_MAX_BODY_LEN			(512 * 1024)

/* A decoded 7-byte header. */
struct pw_hdr {
	u8 op;
	u32 size;
};

/* What the guest asks for in a connect request (host byte order). */
struct pw_connect_req {
	u8 ssid_len;
	u8 ssid[IEEE80211_MAX_SSID_LEN];
	u8 bssid[ETH_ALEN];
	u8 auth_type;
	u8 wpa_versions;
	u8 n_akm_suites;
	u32 akm_suites[PW_MAX_AKM_SUITES];
	u8 n_pairwise;
	u32 pairwise[PW_MAX_PAIRWISE_SUITES];
	u32 group_cipher;
	u8 key_len;
	u8 key[PW_MAX_KEY_LEN];
};

/* A validated connect response. */
struct pw_connect_resp {
	u16 status;
	u8 bssid[ETH_ALEN];
	u64 session_id;
};

/* A validated scan response (or scan-results notification) body. */
struct pw_scan_resp {
	const u8 *body;
	u32 len;
	u32 num_bss;
	bool complete;
};

/* One BSS entry of a validated scan response; ies points into the body. */
struct pw_bss {
	u8 bssid[ETH_ALEN];
	u16 capability;
	s32 rssi_dbm;
	u16 beacon_interval;
	u32 freq_khz;
	const u8 *ies;
	u32 ie_len;
};

/* A notification decoded by pw_notif_parse(); op says which field is set. */
struct pw_notif {
	u8 op;
	u64 session_id;			/* PW_OP_NOTIF_DISCONNECTED */
	s8 signal_dbm;			/* PW_OP_NOTIF_SIGNAL_QUALITY */
	struct pw_scan_resp scan;	/* PW_OP_SCAN_RESPONSE */
};

/* Room for the reason a host answer was refused, for the log line. */
#define PW_WHY_LEN			96

const char *pw_op_name(u8 op);
void pw_hdr_encode(u8 *buf, u8 op, u32 size);
int pw_hdr_decode(const u8 *buf, struct pw_hdr *hdr, char *why);

void pw_scan_req_encode(u8 *buf, const u8 *ssid, u8 ssid_len);
u32 pw_connect_req_encode(const struct pw_connect_req *req, u8 *buf);
void pw_disconnect_req_encode(u8 *buf, u64 session_id);

int pw_scan_resp_parse(const u8 *body, u32 len, struct pw_scan_resp *out,
		       char *why);
void pw_scan_resp_entry(const struct pw_scan_resp *resp, u32 index,
			struct pw_bss *bss);
int pw_connect_resp_parse(const u8 *body, u32 len, struct pw_connect_resp *out,
			  char *why);
int pw_answer_check(const struct pw_hdr *hdr, u8 want_op, char *why);
int pw_notif_check(const struct pw_hdr *hdr, char *why);
int pw_notif_parse(const struct pw_hdr *hdr, const u8 *body,
		   struct pw_notif *out, char *why);

#endif /* PW_WIRE_H */
