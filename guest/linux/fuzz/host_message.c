// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Fuzz targets for the guest driver's parsing of host bytes: wire.c, compiled
 * unchanged in user space (kshim.h), fed one whole host message at a time.
 * PW_FUZZ_KIND (set by the build, see build.sh) picks the message:
 *
 *   1 scan answer       2 connect answer      3 disconnect answer
 *   4 disconnected notification   5 signal notification
 *   6 scan-results notification
 *
 * Each target takes the steps the driver takes (transport.c, cfg.c): decode
 * the header, check it against what was asked (an answer) or against the
 * notification sizes, copy exactly the announced body into a buffer of that
 * size (so AddressSanitizer sees any read past it), parse it, and read what
 * the driver would read: every BSS entry and every IE byte of a scan.
 *
 * Built with -DPW_FUZZ_REPLAY instead of libFuzzer, the same code is a program
 * that prints one verdict line per input file, for the differential check
 * against the Rust protocol crate (scripts/fuzz-guest.sh diff).
 *
 * Copyright (c) 2026 The proxy-wifi authors
 */
#include <stdlib.h>

#include "wire.h"

#ifndef PW_FUZZ_KIND
#error "PW_FUZZ_KIND must be set"
#endif

/* What a target concluded, for the replay's verdict line. */
struct pw_verdict {
	char line[1 << 16];
};

static void say(struct pw_verdict *v, const char *text)
{
	snprintf(v->line, sizeof(v->line), "%s", text);
}

/* FNV-1a over the IEs: a short stand-in for their bytes in verdict lines. */
static u32 pw_fnv(const u8 *p, u32 len)
{
	u32 h = 2166136261u;
	u32 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void pw_scan_verdict(const struct pw_scan_resp *resp,
			    struct pw_verdict *v)
{
	size_t used;
	u32 i;

	used = (size_t)snprintf(v->line, sizeof(v->line), "accept scan complete=%d n=%u",
				resp->complete, resp->num_bss);
	for (i = 0; i < resp->num_bss; i++) {
		struct pw_bss bss;
		u32 h;

		pw_scan_resp_entry(resp, i, &bss);
		h = pw_fnv(bss.ies, bss.ie_len);	/* reads every IE byte */
		if (used < sizeof(v->line))
			used += (size_t)snprintf(v->line + used, sizeof(v->line) - used,
				" %02x%02x%02x%02x%02x%02x/%u/%d/%u/%u/%u/%08x",
				bss.bssid[0], bss.bssid[1], bss.bssid[2],
				bss.bssid[3], bss.bssid[4], bss.bssid[5],
				bss.capability, bss.rssi_dbm,
				bss.beacon_interval, bss.freq_khz,
				bss.ie_len, h);
	}
}

static u8 pw_expected_op(void)
{
	switch (PW_FUZZ_KIND) {
	case 1:
	case 6:
		return PW_OP_SCAN_RESPONSE;
	case 2:
		return PW_OP_CONNECT_RESPONSE;
	case 3:
		return PW_OP_DISCONNECT_RESPONSE;
	case 4:
		return PW_OP_NOTIF_DISCONNECTED;
	default:
		return PW_OP_NOTIF_SIGNAL_QUALITY;
	}
}

static void pw_answer(const struct pw_hdr *hdr, const u8 *body,
		      struct pw_verdict *v)
{
	char why[PW_WHY_LEN];
	struct pw_scan_resp scan;
	struct pw_connect_resp conn;

	switch (PW_FUZZ_KIND) {
	case 1:
		if (pw_scan_resp_parse(body, hdr->size, &scan, why))
			return say(v, "reject");
		return pw_scan_verdict(&scan, v);
	case 2:
		if (pw_connect_resp_parse(body, hdr->size, &conn, why))
			return say(v, "reject");
		snprintf(v->line, sizeof(v->line),
			 "accept connect status=%u bssid=%02x%02x%02x%02x%02x%02x session=%llu",
			 conn.status, conn.bssid[0], conn.bssid[1], conn.bssid[2],
			 conn.bssid[3], conn.bssid[4], conn.bssid[5],
			 (unsigned long long)conn.session_id);
		return;
	default:
		/* cfg.c logs a non-empty disconnect answer as malformed. */
		say(v, hdr->size ? "reject" : "accept disconnect-answer");
	}
}

static void pw_notification(const struct pw_hdr *hdr, const u8 *body,
			    struct pw_verdict *v)
{
	char why[PW_WHY_LEN];
	struct pw_notif notif;

	if (pw_notif_parse(hdr, body, &notif, why))
		return say(v, "reject");
	if (notif.op == PW_OP_NOTIF_DISCONNECTED)
		snprintf(v->line, sizeof(v->line), "accept disconnected session=%llu",
			 (unsigned long long)notif.session_id);
	else if (notif.op == PW_OP_NOTIF_SIGNAL_QUALITY)
		snprintf(v->line, sizeof(v->line), "accept signal dbm=%d",
			 notif.signal_dbm);
	else
		pw_scan_verdict(&notif.scan, v);
}

/* One host message, as the driver takes it; @v gets the verdict. */
static void pw_one_message(const u8 *data, size_t size, struct pw_verdict *v)
{
	char why[PW_WHY_LEN];
	struct pw_hdr hdr;
	u8 *body;
	bool answer = PW_FUZZ_KIND <= 3;

	say(v, "cut");
	if (size < PW_HDR_LEN)
		return;
	if (pw_hdr_decode(data, &hdr, why))
		return say(v, "reject");
	if (answer ? pw_answer_check(&hdr, pw_expected_op(), why) :
		     hdr.op != pw_expected_op() || pw_notif_check(&hdr, why))
		return say(v, "reject");
	if (size - PW_HDR_LEN < hdr.size)
		return;
	/* Exactly the announced body, so that a read past it is caught. */
	body = malloc(hdr.size ? hdr.size : 1);
	if (!body)
		abort();
	memcpy(body, data + PW_HDR_LEN, hdr.size);
	if (answer)
		pw_answer(&hdr, body, v);
	else
		pw_notification(&hdr, body, v);
	free(body);
}

#ifdef PW_FUZZ_REPLAY
/* Prints "FILE<TAB>VERDICT" for each file named on the command line. */
int main(int argc, char **argv)
{
	static u8 buf[1 << 20];
	int i;

	static struct pw_verdict v;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		pw_one_message(buf, n, &v);
		printf("%s\t%s\n", argv[i], v.line);
	}
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct pw_verdict v;

	pw_one_message(data, size, &v);
	return 0;
}
#endif
