// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * proxy_wifi wire format: encoding of requests, exact validation of answers.
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <linux/kernel.h>
#include <linux/string.h>

#include "wire.h"

/**
 * pw_op_name() - an operation's name, for log lines.
 * @op: the operation byte of a header
 *
 * Return: a static string ("unknown operation" for other values).
 */
const char *pw_op_name(u8 op)
{
	switch (op) {
	case PW_OP_INVALID:
		return "invalid";
	case PW_OP_SCAN_REQUEST:
		return "scan request";
	case PW_OP_SCAN_RESPONSE:
		return "scan response";
	case PW_OP_CONNECT_REQUEST:
		return "connect request";
	case PW_OP_CONNECT_RESPONSE:
		return "connect response";
	case PW_OP_DISCONNECT_REQUEST:
		return "disconnect request";
	case PW_OP_DISCONNECT_RESPONSE:
		return "disconnect response";
	case PW_OP_NOTIF_DISCONNECTED:
		return "disconnected notification";
	case PW_OP_NOTIF_SIGNAL_QUALITY:
		return "signal notification";
	default:
		return "unknown operation";
	}
}

/**
 * pw_hdr_encode() - writes a message header.
 * @buf: PW_HDR_LEN bytes
 * @op: the operation
 * @size: the body's length
 */
void pw_hdr_encode(u8 *buf, u8 op, u32 size)
{
	buf[0] = op;
	put_unaligned_le32(size, buf + 1);
	put_unaligned_le16(PW_PROTOCOL_VERSION, buf + 5);
}

/**
 * pw_hdr_decode() - decodes and checks a header from the host.
 * @buf: PW_HDR_LEN bytes
 * @hdr: the decoded header
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * Return: 0; -EPROTO for another protocol version; -EMSGSIZE for a body
 * larger than PW_MAX_BODY_LEN.
 */
int pw_hdr_decode(const u8 *buf, struct pw_hdr *hdr, char *why)
{
	u16 version = get_unaligned_le16(buf + 5);

	hdr->op = buf[0];
	hdr->size = get_unaligned_le32(buf + 1);
	if (version != PW_PROTOCOL_VERSION) {
		snprintf(why, PW_WHY_LEN, "protocol version 0x%04x, expected 0x%04x",
			 version, PW_PROTOCOL_VERSION);
		return -EPROTO;
	}
	if (hdr->size > PW_MAX_BODY_LEN) {
		snprintf(why, PW_WHY_LEN, "%s of %u bytes, at most %u accepted",
			 pw_op_name(hdr->op), hdr->size, PW_MAX_BODY_LEN);
		return -EMSGSIZE;
	}
	return 0;
}

/**
 * pw_scan_req_encode() - writes a scan request body.
 * @buf: PW_SCAN_REQ_LEN bytes
 * @ssid: the SSID to scan for (ignored when @ssid_len is 0)
 * @ssid_len: its length, at most IEEE80211_MAX_SSID_LEN (longer is cut)
 */
void pw_scan_req_encode(u8 *buf, const u8 *ssid, u8 ssid_len)
{
	memset(buf, 0, PW_SCAN_REQ_LEN);
	ssid_len = min_t(u8, ssid_len, IEEE80211_MAX_SSID_LEN);
	buf[0] = ssid_len;
	memcpy(buf + 1, ssid, ssid_len);
}

/**
 * pw_connect_req_encode() - writes a connect request body.
 * @req: the request
 * @buf: PW_CONNECT_REQ_FIXED_LEN + @req->key_len bytes
 *
 * Return: the number of bytes written.
 */
u32 pw_connect_req_encode(const struct pw_connect_req *req, u8 *buf)
{
	unsigned int i;

	memset(buf, 0, PW_CONNECT_REQ_FIXED_LEN);
	buf[0] = req->ssid_len;
	memcpy(buf + 1, req->ssid, req->ssid_len);
	memcpy(buf + 33, req->bssid, ETH_ALEN);
	buf[39] = req->auth_type;
	buf[40] = req->wpa_versions;
	buf[41] = req->n_akm_suites;
	for (i = 0; i < req->n_akm_suites && i < PW_MAX_AKM_SUITES; i++)
		put_unaligned_le32(req->akm_suites[i], buf + 42 + 4 * i);
	buf[50] = req->n_pairwise;
	for (i = 0; i < req->n_pairwise && i < PW_MAX_PAIRWISE_SUITES; i++)
		put_unaligned_le32(req->pairwise[i], buf + 51 + 4 * i);
	put_unaligned_le32(req->group_cipher, buf + 71);
	buf[75] = req->key_len;
	memcpy(buf + PW_CONNECT_REQ_FIXED_LEN, req->key, req->key_len);
	return PW_CONNECT_REQ_FIXED_LEN + req->key_len;
}

/**
 * pw_disconnect_req_encode() - writes a disconnect request body.
 * @buf: PW_DISCONNECT_REQ_LEN bytes
 * @session_id: the session the guest leaves
 */
void pw_disconnect_req_encode(u8 *buf, u64 session_id)
{
	put_unaligned_le64(session_id, buf);
}

/**
 * pw_scan_resp_parse() - checks a scan response body completely.
 * @body: the body (a scan answer's, or a scan-results notification's)
 * @len: its length
 * @out: the validated response, pointing into @body
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * Before anyone reads an entry: scan_complete is 0 or 1, total_size equals
 * the body length, the entries fit, every entry's IE range lies inside the
 * body, and all entries' IEs together are no longer than the body (ranges
 * may overlap, but cfg80211 gets no more IE bytes than the host sent). Sums
 * are 64-bit, so no field value can wrap around.
 *
 * Return: 0, or -EBADMSG with @why filled.
 */
int pw_scan_resp_parse(const u8 *body, u32 len, struct pw_scan_resp *out,
		       char *why)
{
	u32 total_size, num_bss, i;
	u64 ie_total = 0;

	if (len < PW_SCAN_RESP_FIXED_LEN) {
		snprintf(why, PW_WHY_LEN, "scan response of %u bytes, at least %u needed",
			 len, PW_SCAN_RESP_FIXED_LEN);
		return -EBADMSG;
	}
	if (body[0] > 1) {
		snprintf(why, PW_WHY_LEN, "scan response scan_complete %u, expected 0 or 1",
			 body[0]);
		return -EBADMSG;
	}
	num_bss = get_unaligned_le32(body + 1);
	total_size = get_unaligned_le32(body + 5);
	if (total_size != len) {
		snprintf(why, PW_WHY_LEN, "scan response total_size %u but body of %u bytes",
			 total_size, len);
		return -EBADMSG;
	}
	if ((u64)num_bss * PW_BSS_ENTRY_LEN > len - PW_SCAN_RESP_FIXED_LEN) {
		snprintf(why, PW_WHY_LEN, "scan response num_bss %u does not fit in %u bytes",
			 num_bss, len);
		return -EBADMSG;
	}
	for (i = 0; i < num_bss; i++) {
		u64 entry = PW_SCAN_RESP_FIXED_LEN + (u64)i * PW_BSS_ENTRY_LEN;
		u32 ie_size = get_unaligned_le32(body + entry + 18);
		u32 ie_offset = get_unaligned_le32(body + entry + 22);

		if (entry + ie_offset + ie_size > len) {
			snprintf(why, PW_WHY_LEN,
				 "scan entry %u: IEs at +%u (%u bytes) leave the %u-byte body",
				 i, ie_offset, ie_size, len);
			return -EBADMSG;
		}
		ie_total += ie_size;
		if (ie_total > len) {
			snprintf(why, PW_WHY_LEN,
				 "scan entries' IEs add up to more than the %u-byte body (entry %u)",
				 len, i);
			return -EBADMSG;
		}
	}
	out->body = body;
	out->len = len;
	out->num_bss = num_bss;
	out->complete = body[0] != 0;
	return 0;
}

/**
 * pw_scan_resp_entry() - decodes one BSS entry of a validated scan response.
 * @resp: a response pw_scan_resp_parse() accepted
 * @index: the entry, below @resp->num_bss
 * @bss: the entry; its IEs point into the response's body
 */
void pw_scan_resp_entry(const struct pw_scan_resp *resp, u32 index,
			struct pw_bss *bss)
{
	const u8 *entry = resp->body + PW_SCAN_RESP_FIXED_LEN +
			  (size_t)index * PW_BSS_ENTRY_LEN;

	memcpy(bss->bssid, entry, ETH_ALEN);
	bss->capability = get_unaligned_le16(entry + 6);
	bss->rssi_dbm = (s32)get_unaligned_le32(entry + 8);
	bss->beacon_interval = get_unaligned_le16(entry + 12);
	bss->freq_khz = get_unaligned_le32(entry + 14);
	bss->ie_len = get_unaligned_le32(entry + 18);
	bss->ies = entry + get_unaligned_le32(entry + 22);
}

/**
 * pw_connect_resp_parse() - checks and decodes a connect response body.
 * @body: the body
 * @len: its length
 * @out: the decoded response
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * Return: 0, or -EBADMSG with @why filled.
 */
int pw_connect_resp_parse(const u8 *body, u32 len, struct pw_connect_resp *out,
			  char *why)
{
	if (len != PW_CONNECT_RESP_LEN) {
		snprintf(why, PW_WHY_LEN, "connect response of %u bytes, expected %u",
			 len, PW_CONNECT_RESP_LEN);
		return -EBADMSG;
	}
	out->status = get_unaligned_le16(body);
	memcpy(out->bssid, body + 2, ETH_ALEN);
	out->session_id = get_unaligned_le64(body + 8);
	return 0;
}

/**
 * pw_answer_check() - checks an answer's header against the request's.
 * @hdr: the decoded header of the answer
 * @want_op: the operation that answers the request
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * Return: 0; -EREMOTEIO for an INVALID answer (the host could not process the
 * request); -EBADMSG for another operation, with @why filled.
 */
int pw_answer_check(const struct pw_hdr *hdr, u8 want_op, char *why)
{
	if (hdr->op == PW_OP_INVALID) {
		snprintf(why, PW_WHY_LEN, "the host could not process it");
		return -EREMOTEIO;
	}
	if (hdr->op != want_op) {
		snprintf(why, PW_WHY_LEN, "a %s (op %u), expected a %s",
			 pw_op_name(hdr->op), hdr->op, pw_op_name(want_op));
		return -EBADMSG;
	}
	return 0;
}

/**
 * pw_notif_check() - checks a notification's header before its body is read.
 * @hdr: the decoded header
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * The operation must be a notification, with its exact size (disconnected 8
 * bytes, signal 1) or at least a scan response's fixed part.
 *
 * Return: 0, or -EBADMSG with @why filled.
 */
int pw_notif_check(const struct pw_hdr *hdr, char *why)
{
	switch (hdr->op) {
	case PW_OP_NOTIF_DISCONNECTED:
		if (hdr->size == PW_NOTIF_DISCONNECTED_LEN)
			return 0;
		break;
	case PW_OP_NOTIF_SIGNAL_QUALITY:
		if (hdr->size == PW_NOTIF_SIGNAL_LEN)
			return 0;
		break;
	case PW_OP_SCAN_RESPONSE:
		if (hdr->size >= PW_SCAN_RESP_FIXED_LEN)
			return 0;
		break;
	default:
		snprintf(why, PW_WHY_LEN, "a %s (op %u) is not a notification",
			 pw_op_name(hdr->op), hdr->op);
		return -EBADMSG;
	}
	snprintf(why, PW_WHY_LEN, "%s of %u bytes", pw_op_name(hdr->op), hdr->size);
	return -EBADMSG;
}

/**
 * pw_notif_parse() - decodes a notification whose header passed pw_notif_check().
 * @hdr: its header
 * @body: its body, @hdr->size bytes
 * @out: the decoded notification (a scan result points into @body)
 * @why: room for the reason of a refusal (PW_WHY_LEN bytes)
 *
 * Return: 0, or -EBADMSG with @why filled.
 */
int pw_notif_parse(const struct pw_hdr *hdr, const u8 *body,
		   struct pw_notif *out, char *why)
{
	int err = pw_notif_check(hdr, why);

	if (err)
		return err;
	out->op = hdr->op;
	switch (hdr->op) {
	case PW_OP_NOTIF_DISCONNECTED:
		out->session_id = get_unaligned_le64(body);
		return 0;
	case PW_OP_NOTIF_SIGNAL_QUALITY:
		out->signal_dbm = (s8)body[0];
		return 0;
	default:
		return pw_scan_resp_parse(body, hdr->size, &out->scan, why);
	}
}
