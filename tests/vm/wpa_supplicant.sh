#!/usr/bin/env bash
# The wpa_supplicant host backend on a real Linux Wi-Fi stack, in a throwaway VM booted
# by wifi-lab (mac80211_hwsim radios, hostapd lab-open / lab-wpa2). Inside the VM,
# wpa_supplicant runs on the station wlan2 with a saved network of its own; the
# service serves over vsock loopback in host mode with the wpa_supplicant backend, and
# `proxy-wifi guest` plays the guest driver:
#   scan (real BSSIDs, frequencies, capabilities and RSN of both lab networks), wrong
#   passphrase (fails within the deadline, temporary network removed), right after it the
#   open network (joined as open: key_mgmt NONE, no passphrase asked), connect (station
#   really associated: `iw dev wlan2 link`), signal notification, host-side disconnect
#   (hostapd deauthenticates the station) reaching `guest listen` as NOTIF_DISCONNECTED,
#   guest disconnect (temporary network removed, the host's network enabled again),
#   a SAVE_CONFIG by another tool during a guest connection (the host's config file is
#   byte-identical once the guest is gone, and never holds the guest's key), mirroring of
#   a connection the host made itself.
#
#   WIFI_LAB=../shared/tools/wifi-lab bash tests/vm/wpa_supplicant.sh
#
# Prints PASS/FAIL lines with timings; exits non-zero on failure. Skips (exit 0 with a
# notice) when wifi-lab is not there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
vm_test_setup wpa_supplicant

read -r -d '' IN_VM <<'EOF_VM' || true
STA=$WIFI_LAB_STA
W="wpa_cli -i $STA"
STA_MAC=$(cat /sys/class/net/$STA/address)

# The host: wpa_supplicant with a saved network of its own (not in range), and
# update_config=1 so that SAVE_CONFIG writes the file.
cat >/tmp/wpas.conf <<EOF
ctrl_interface=/run/wpa_supplicant
update_config=1
network={
	ssid="home-saved"
	psk="homepassword"
}
EOF
wpa_supplicant -B -i "$STA" -c /tmp/wpas.conf -f /var/log/wpas.log
wait_for 5 sh -c "$W ping | grep -q PONG" || { echo "FAIL wpa_supplicant did not start"; exit 1; }
$W scan freq="$WIFI_LAB_SCAN_FREQS" >/dev/null
wait_for 15 sh -c "$W scan_results | grep -q lab-wpa2 && $W scan_results | grep -q lab-open" \
  || echo "note: the host's own scan did not see both networks yet"
saved_enabled() { $W list_networks | awk -F'\t' '$2=="home-saved" && $4 !~ /DISABLED/ {ok=1} END{exit !ok}'; }
no_temporary() { ! $W list_networks | grep -q 'lab-wpa2'; }

# The guest reads each notification within 10 ms, as the driver does; under TCG the one
# vCPU is shared with wpa_supplicant and hostapd, so the service and the guest side run
# at a higher priority (a real guest has CPUs of its own).
$HI proxy-wifi -v serve --transport vsock --mode host --guest-cid 1 --backend wpa-supplicant --wpa-ctrl-dir /run/wpa_supplicant \
  >/tmp/serve.out 2>/tmp/serve.log &
serve=$!
wait_for 10 grep -q serving /tmp/serve.out || { echo "FAIL service did not start"; cat /tmp/serve.log; exit 1; }
wait_for 10 grep -q "interface added" /tmp/serve.log || fail "the backend did not add $STA"
G="proxy-wifi guest --transport vsock --cid 2"

# 1. Scan: both lab networks with their real BSSID, frequency, capabilities and RSN.
t1=$(now)
$G scan --json >/tmp/scan.json 2>/tmp/scan.err || fail "guest scan failed: $(cat /tmp/scan.err)"
flat=$(tr -d ' \n' </tmp/scan.json)
$G scan 2>/dev/null | tee /tmp/scan.txt
wpa2='"akm_suites":["PSK"],"bssid":"02:00:00:00:01:00","capabilities":"0x0411","channel":6,"frequency_mhz":2437,"group_cipher":"CCMP","pairwise_ciphers":["CCMP"],"rssi_dbm":-30,"security":"WPA2-PSK","ssid":"lab-wpa2"'
open='"akm_suites":null,"bssid":"02:00:00:00:00:00","capabilities":"0x0401","channel":1,"frequency_mhz":2412,"group_cipher":null,"pairwise_ciphers":null,"rssi_dbm":-30,"security":"Open","ssid":"lab-open"'
if echo "$flat" | grep -qF "$wpa2" && echo "$flat" | grep -qF "$open"; then
  pass "scan: lab-wpa2 02:00:00:00:01:00 2437 MHz RSN PSK/CCMP caps 0x0411, lab-open 02:00:00:00:00:00 2412 MHz open ($(t "$t1")s)"
else
  fail "scan misses the lab networks as the beacons describe them: $flat"
fi

# 2. Wrong passphrase: refused within the guest's 20 s, temporary network removed.
t2=$(now)
if $G connect lab-wpa2 --passphrase wrongpassword >/tmp/wrong.out 2>&1; then
  fail "wrong passphrase accepted"
else
  took=$(t "$t2")
  # The promise: a connect is answered within the guest's 20 s (the service's 18 s connect
  # budget from the request's arrival, the rest TCG's slack for starting the guest). Under
  # TCG the access point's 4-way handshake retries (about 3 s) come after a scan of several
  # seconds, so the 10 s interface deadline may answer before the key is known to be
  # wrong (status 16 instead of 15): both are a refusal in time.
  if awk -v x="$took" 'BEGIN{exit !(x<20)}'; then
    if grep -q "wrong key" /tmp/wrong.out; then how="as a wrong key"; else how="by the interface deadline"; fi
    pass "wrong passphrase refused $how in ${took}s"
  else
    fail "wrong passphrase refused only after ${took}s (the guest waits 20 s): $(cat /tmp/wrong.out)"
  fi
fi
grep -q "WRONG_KEY" /tmp/serve.log && echo "  (wpa_supplicant said WRONG_KEY)"
if wait_for 3 no_temporary && saved_enabled; then pass "after the failure: no temporary network, home-saved enabled"; else fail "after the failure: $($W list_networks)"; fi

# 2b. Right after it, the open network: joined, as an open network (issue 25 item 6: its
# temporary network had mem_only_psk=1, so wpa_supplicant asked for a passphrase,
# CTRL-REQ-PSK_PASSPHRASE, instead of joining; and a reply that came after its command
# timed out could be read as the next command's).
t2b=$(now)
if out=$($G connect lab-open --json 2>&1); then
  session=$(echo "$out" | sed -n 's/.*"session_id": \([0-9]*\).*/\1/p')
  open_id=$($W list_networks | awk -F'\t' '$2=="lab-open" {print $1}')
  key_mgmt=$($W get_network "$open_id" key_mgmt | tail -n 1)
  if echo "$out" | grep -q '"bssid": "02:00:00:00:00:00"' && [ "$key_mgmt" = NONE ] \
    && iw dev "$STA" link | grep -q "SSID: lab-open"; then
    pass "connect lab-open right after the wrong passphrase: joined as open (network $open_id, key_mgmt $key_mgmt) in $(t "$t2b")s"
  else
    fail "connect lab-open: $out; network '$open_id' key_mgmt '$key_mgmt'; $(iw dev "$STA" link | head -n 2)"
  fi
  $G disconnect "$session" >/dev/null 2>&1 || fail "guest disconnect from lab-open"
  no_open() { ! $W list_networks | grep -q 'lab-open'; }
  if wait_for 5 no_open && saved_enabled; then pass "after lab-open: no temporary network, home-saved enabled"; else fail "after lab-open: $($W list_networks)"; fi
else
  fail "connect lab-open right after the wrong passphrase ($(t "$t2b")s): $out; $(grep -m 1 CTRL-REQ /var/log/wpas.log)"
fi
grep -q "no reply to" /tmp/serve.log && echo "  (the service logged a command without a reply: $(grep -m 1 'no reply to' /tmp/serve.log))"

# 3. Connect with the right passphrase: the station is really associated.
# The backend is under test here, not the driver's 10 ms read window (the real-driver
# suite tests that): 200 ms, so that a loaded TCG VM does not lose a notification.
$HI $G --notification-read-ms 200 listen --json --duration 60 >/tmp/listen.json 2>/tmp/listen.err &
listen=$!
wait_for 5 grep -q listening /tmp/listen.err || true
t3=$(now)
out=$($G connect lab-wpa2 --passphrase labpassword --json 2>&1) || fail "connect failed: $out"
session=$(echo "$out" | sed -n 's/.*"session_id": \([0-9]*\).*/\1/p')
echo "$out" | grep -q '"bssid": "02:00:00:00:01:00"' && [ -n "$session" ] \
  && pass "connect lab-wpa2 (session $session, BSSID 02:00:00:00:01:00) in $(t "$t3")s" || fail "connect answer: $out"
iw dev "$STA" link | tee /tmp/link.txt
grep -q "Connected to 02:00:00:00:01:00" /tmp/link.txt && grep -q "SSID: lab-wpa2" /tmp/link.txt \
  && pass "iw dev $STA link: associated with lab-wpa2" || fail "not associated"
$W list_networks
$W list_networks | grep -q 'home-saved.*DISABLED' && echo "  (SELECT_NETWORK disabled home-saved while the guest is connected)"

# 4. Signal of the guest's connection reaches it.
# (Not a verdict: the signal is sent once per change, and under TCG the guest's 10 ms
# read window sometimes closes before a notification arrives.)
if wait_for 8 grep -q '"type":"signal"' /tmp/listen.json; then
  pass "signal notification: $(grep -m1 signal /tmp/listen.json)"
else
  echo "SKIP signal notification not seen ($(grep -c 'skipping notification' /tmp/listen.err) notification(s) skipped by the guest's 10 ms read window)"
fi

# 5. Host-side disconnect: the AP deauthenticates the station.
t5=$(now)
ip netns exec "$WIFI_LAB_AP_NETNS" hostapd_cli -p /run/hostapd -i wlan1 deauthenticate "$STA_MAC" >/dev/null
got_disconnected() { grep '"type":"disconnected"' /tmp/listen.json | grep -q "\"session_id\":$session[,}]"; }
if wait_for 10 got_disconnected; then
  pass "AP deauthentication reached the guest as NOTIF_DISCONNECTED (session $session) in $(t "$t5")s"
else
  fail "no disconnected notification: $(cat /tmp/listen.json)"
fi
if wait_for 5 no_temporary && saved_enabled; then pass "host lost the guest's network: temporary network removed, home-saved enabled"; else fail "after the host disconnect: $($W list_networks)"; fi

# 6. Guest disconnect removes the temporary network and restores the host's networks.
# Another tool saves the configuration during the connection: the file never holds the
# guest's key, and is byte-identical to the host's once the guest is gone. (Saved once
# first, so that the file is in wpa_supplicant's own layout.)
$W save_config | grep -q OK || fail "save_config refused before the connection"
sum_before=$(sha256sum </tmp/wpas.conf); cp /tmp/wpas.conf /tmp/wpas.before
out=$($G connect lab-wpa2 --psk "$WIFI_LAB_WPA2_PSK" --json 2>&1) || fail "second connect failed: $out"
session=$(echo "$out" | sed -n 's/.*"session_id": \([0-9]*\).*/\1/p')
$W list_networks | grep -q 'lab-wpa2.*CURRENT' || fail "no current temporary network: $($W list_networks)"
$W save_config | grep -q OK || fail "save_config refused during the connection"
cp /tmp/wpas.conf /tmp/wpas.during
if grep -qi "$WIFI_LAB_WPA2_PSK" /tmp/wpas.during || grep -q labpassword /tmp/wpas.during; then
  fail "SAVE_CONFIG during the guest connection wrote the guest's key: $(cat /tmp/wpas.during)"
else
  pass "SAVE_CONFIG during the guest connection: no key in the file ($(grep -c mem_only_psk=1 /tmp/wpas.during) memory-only network)"
fi
t6=$(now)
$G disconnect "$session" || fail "guest disconnect"
took=$(t "$t6")
if no_temporary && saved_enabled; then pass "guest disconnect in ${took}s: temporary network removed, home-saved enabled"; else fail "after guest disconnect: $($W list_networks)"; fi
wait_for 5 sh -c "iw dev $STA link | grep -q 'Not connected'" && pass "iw: $STA not connected any more" || fail "still associated: $(iw dev $STA link)"
$W list_networks
if [ "$(sha256sum </tmp/wpas.conf)" = "$sum_before" ]; then
  pass "the host's wpa_supplicant.conf is byte-identical after the guest connection ($(wc -c </tmp/wpas.conf) bytes)"
else
  fail "the host's wpa_supplicant.conf changed: $(diff /tmp/wpas.before /tmp/wpas.conf)"
fi

# 7. Mirroring: the host joins lab-open itself; the guest's connect mirrors it.
id=$($W add_network | tail -n 1)
$W set_network "$id" ssid '"lab-open"' >/dev/null; $W set_network "$id" key_mgmt NONE >/dev/null
$W select_network "$id" >/dev/null
wait_for 15 sh -c "$W status | grep -q wpa_state=COMPLETED" || fail "the host could not join lab-open"
wait_for 3 grep -q "host connected" /tmp/serve.log || true
out=$($G connect lab-open --json 2>&1) || fail "mirroring connect failed: $out"
echo "$out" | grep -q '"bssid": "02:00:00:00:00:00"' && grep -q "mirrors the host connection" /tmp/serve.log \
  && pass "connect lab-open mirrors the host's own connection" || fail "no mirroring: $out"
[ "$($W list_networks | grep -c lab-open)" = 1 ] || fail "mirroring touched the host's networks"

kill "$listen" 2>/dev/null; kill "$serve" 2>/dev/null; wait "$serve" 2>/dev/null
if [ "$failed" -gt 0 ]; then
  echo "--- guest listen log"; cat /tmp/listen.err
  echo "--- service log"; tail -n 80 /tmp/serve.log
  echo "--- wpa_supplicant log"; tail -n 40 /var/log/wpas.log
fi
echo "wpa_supplicant backend: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
EOF_VM

rc=0
"$WIFI_LAB" --timeout 170 --add "$work/proxy-wifi:/usr/local/bin/proxy-wifi" "${nice_add[@]}" \
  --run "$IN_VM_PRELUDE
$IN_VM" || rc=$?
echo "wpa_supplicant VM test: exit $rc after $(( $(date +%s) - started ))s"
exit $rc
