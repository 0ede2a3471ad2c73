# The in-VM part of tests/vm/guest-driver/hostile-host.sh (sourced after IN_VM_PRELUDE,
# which gives now/t/pass/fail/wait_for/HI; the caller sets MINUTES and SEED).
#
# `proxy-wifi-bench mutating-host` listens on vsock port 12345 and sends notifications
# to CID 1 port 12346 (this VM, vsock loopback). For MINUTES the driver is driven in a
# loop: scan (trigger, wait, dump), `iw connect` to an open network the host lists,
# wpa_supplicant WPA2-PSK for a few seconds, disconnect, link down/up, and a module
# reload (rmmod, insmod, link add) once a minute. Operations may fail (the host is
# hostile); each runs under a watchdog. What must hold:
#   - no operation hangs past its watchdog: 60 s for what reaches the driver (it may wait
#     behind one request the host stalls, then for its own: 2 x the guest's 20 s), 90 s
#     for rmmod; a hung one is reported with its kernel stack;
#   - the kernel log stays clean (no BUG/KASAN/UBSAN/WARNING/lockdep/ODEBUG/list
#     corruption/Oops/Call Trace) and the kernel is not tainted by a WARN or an oops;
#   - rmmod succeeds after the hostile phase;
#   - once the host is honest (SIGUSR1) and the module and link are loaded again, a
#     scan finishes and lists every network within 5 s, and a connect succeeds within 5 s;
#   - the final rmmod succeeds.

PW=pw0
BAD_KERNEL='BUG:|KASAN|UBSAN|WARNING:|possible circular locking|inconsistent lock state|sleeping function called from invalid context|ODEBUG|list_add corruption|list_del corruption|Oops|Call Trace|general protection|kernel BUG|refcount_t:'
KLOG=/tmp/kernel.log
: >$KLOG
declare -A OK=() BAD=() HUNG=()
HUNG_LINES=""

section() { echo; echo "=== [$(t "$T0")s] $*"; }
# Moves the kernel log into $KLOG (read and clear: the ring buffer cannot wrap between
# two calls, however chatty the driver is under a hostile host).
collect_klog() { dmesg -c >>$KLOG 2>/dev/null || dmesg >>$KLOG; }
# run_op NAME SECONDS CMD...: runs CMD in the background under a watchdog; a CMD still
# running after SECONDS is killed (-9) and counted as hung (its process may stay stuck in
# the kernel: the script goes on anyway). Output in /tmp/op.out; returns CMD's status.
run_op() {
  local name=$1 limit=$2; shift 2
  local t0; t0=$(now)
  "$@" >/tmp/op.out 2>&1 </dev/null &
  local pid=$!
  while kill -0 $pid 2>/dev/null; do
    if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN{exit !(b-a>l)}'; then
      # Where it waits, before it goes: the kernel stack of the process (and its children).
      local p stack=""
      for p in $pid $(cat /proc/$pid/task/*/children 2>/dev/null); do
        stack+="    pid $p ($(cat /proc/$p/comm 2>/dev/null)) wchan $(cat /proc/$p/wchan 2>/dev/null):"$'\n'
        stack+="$(sed 's/^/      /' /proc/$p/stack 2>/dev/null | head -n 25)"$'\n'
      done
      kill -9 $pid 2>/dev/null
      HUNG[$name]=$(( ${HUNG[$name]:-0} + 1 ))
      HUNG_LINES+="  $name: '$*' still running after ${limit}s (at $(t "$T0")s)"$'\n'"$stack"
      echo "  HUNG [$(t "$T0")s] $name: '$*' after ${limit}s"
      echo -n "$stack"
      return 124
    fi
    sleep 0.2
  done
  local rc=0
  wait $pid || rc=$?
  if [ $rc = 0 ]; then OK[$name]=$(( ${OK[$name]:-0} + 1 )); else BAD[$name]=$(( ${BAD[$name]:-0} + 1 )); fi
  return $rc
}

scan_ends() { grep -cE "^[0-9.]+: $PW \(phy #[0-9]+\): scan (finished|aborted)" /tmp/events.txt 2>/dev/null || true; }
# A scan: trigger, wait for its end event (at most WAIT s), dump to /tmp/scan.txt.
# Returns 0 when it finished (not aborted) and the dump worked.
scan() { # WAIT
  local n0; n0=$(scan_ends)
  run_op scan_trigger 60 iw dev $PW scan trigger || return 1
  if ! wait_for "$1" sh -c "[ \$(grep -cE '^[0-9.]+: $PW \(phy #[0-9]+\): scan (finished|aborted)' /tmp/events.txt) -gt $n0 ]"; then
    BAD[scan_end]=$(( ${BAD[scan_end]:-0} + 1 ))
    return 1
  fi
  run_op scan_dump 15 iw dev $PW scan dump || return 1
  cp /tmp/op.out /tmp/scan.txt
  ! grep -E "^[0-9.]+: $PW \(phy #[0-9]+\): scan (finished|aborted)" /tmp/events.txt | tail -n 1 | grep -q aborted
}
connected_to() { iw dev $PW link 2>&1 | grep -q "Connected to $1"; }

load_link() {
  # The host here is this VM over vsock loopback: its notifications come from CID 1.
  run_op insmod 60 insmod /root/proxy_wifi.ko host_cid=1 || return 1
  run_op link_add 60 ip link add link eth0 name $PW type proxy_wifi || return 1
  run_op link_up 60 ip link set $PW up
}
WPAS_PID=""
stop_wpas() {
  [ -n "$WPAS_PID" ] || return 0
  kill "$WPAS_PID" 2>/dev/null
  wait_for 5 sh -c "! kill -0 $WPAS_PID" || kill -9 "$WPAS_PID" 2>/dev/null
  WPAS_PID=""
  rm -f /tmp/wpas.pid
}
kernel_bad() { grep -E "$BAD_KERNEL" $KLOG; }

# ---------------------------------------------------------------- setup
section "hostile host for $MINUTES minute(s), seed $SEED ($(uname -r))"
# Only errors and worse on the serial console: the driver logs a warning for every
# malformed message, and each console line costs much under TCG (a debug kernel did 3
# rounds in 10 minutes with them). Everything stays in the ring buffer, checked below.
dmesg -n 4 2>/dev/null || echo 4 >/proc/sys/kernel/printk
iw event -t >/tmp/events.txt 2>&1 &
EVENTS=$!
modprobe veth
ip link add eth0 type veth peer name hostnet
ip link set hostnet up; ip link set eth0 up
$HI proxy-wifi-bench mutating-host --listen-vsock 12345 --guest-cid 1 --notification-port 12346 \
  --duration $(( MINUTES * 60 + 3600 )) --seed "$SEED" --stats /tmp/host-stats.json >/tmp/host.out 2>/tmp/host.err &
HOST=$!
if wait_for 15 grep -q listening /tmp/host.out; then
  pass "mutating host started: $(head -n 1 /tmp/host.out)"
else
  fail "mutating host did not start: $(cat /tmp/host.err)"
fi
if load_link; then pass "insmod + ip link add link eth0 name $PW type proxy_wifi"
else fail "loading the driver: $(cat /tmp/op.out); $(dmesg | tail -n 5)"; fi
printf 'ctrl_interface=/tmp/wpas-ctrl\nnetwork={\n\tssid="HostileWpa2"\n\tpsk="hostilepass"\n\tkey_mgmt=WPA-PSK\n}\n' >/tmp/wpas.conf

# ---------------------------------------------------------------- the hostile loop
section "hostile loop"
T_LOOP=$(now)
end=$(( $(date +%s) + MINUTES * 60 ))
# The first reload after 30 s (so that a one-minute run has one), then once a minute.
next_reload=$(( $(date +%s) + 30 ))
iter=0; scans_listed=0; opens=0; wpa_completed=0; reloads=0
in_time() { [ "$(date +%s)" -lt $end ]; }
while in_time; do
  iter=$((iter + 1))
  if scan 25 && grep -q 'SSID: HostileOpen$' /tmp/scan.txt; then scans_listed=$((scans_listed + 1)); fi
  in_time || break
  run_op connect 60 iw dev $PW connect HostileOpen
  sleep 1
  connected_to 02:00:00:00:b0:01 && opens=$((opens + 1))
  run_op disconnect 60 iw dev $PW disconnect
  in_time || break
  if run_op wpa_supplicant 60 wpa_supplicant -B -i $PW -D nl80211 -c /tmp/wpas.conf -P /tmp/wpas.pid -f /tmp/wpas.log; then
    WPAS_PID=$(cat /tmp/wpas.pid 2>/dev/null)
    sleep 4
    run_op wpa_cli 10 wpa_cli -p /tmp/wpas-ctrl -i $PW status && grep -q '^wpa_state=COMPLETED' /tmp/op.out \
      && wpa_completed=$((wpa_completed + 1))
    stop_wpas
  fi
  run_op disconnect 60 iw dev $PW disconnect
  run_op link_down 60 ip link set $PW down
  run_op link_up 60 ip link set $PW up
  if [ "$(date +%s)" -ge $next_reload ] && in_time; then
    next_reload=$(( $(date +%s) + 60 ))
    reloads=$((reloads + 1))
    run_op rmmod 90 rmmod proxy_wifi && load_link
  fi
  collect_klog
  if [ $((iter % 5)) = 0 ]; then
    echo "  [$(t "$T0")s] $iter rounds: $scans_listed scans listed the host's networks, $opens open connects, $wpa_completed WPA2 COMPLETED, $reloads reloads"
  fi
done
stop_wpas
collect_klog
echo "  hostile loop: $iter rounds in $(t "$T_LOOP")s; $scans_listed scans listed the host's networks, $opens open connects, $wpa_completed WPA2 COMPLETED, $reloads reloads"
for name in $(printf '%s\n' "${!OK[@]}" "${!BAD[@]}" "${!HUNG[@]}" | sort -u); do
  printf '    %-15s ok %4s  failed %4s  hung %s\n' "$name" "${OK[$name]:-0}" "${BAD[$name]:-0}" "${HUNG[$name]:-0}"
done
if [ ${#HUNG[@]} = 0 ]; then pass "every operation of the hostile loop returned within its watchdog"
else fail "operations hung:"$'\n'"$HUNG_LINES"; fi

# ---------------------------------------------------------------- honest again
section "the host turns honest (SIGUSR1); the driver must recover"
kill -USR1 $HOST
wait_for 5 grep -q honest /tmp/host.err || echo "  (no 'honest' line from the host: $(tail -n 2 /tmp/host.err))"
t1=$(now)
if run_op rmmod 90 rmmod proxy_wifi; then pass "rmmod after the hostile phase ($(t "$t1")s)"
else fail "rmmod after the hostile phase: $(cat /tmp/op.out); $(lsmod | grep proxy_wifi)"; fi
lsmod | grep -q '^proxy_wifi ' && run_op rmmod 90 rmmod proxy_wifi
if load_link; then pass "insmod + link add + up after the hostile phase"
else fail "reloading the driver: $(cat /tmp/op.out); $(dmesg | tail -n 5)"; fi
# LIMIT seconds for each, from the command to the result (5 unless HONEST_LIMIT says).
LIMIT=${HONEST_LIMIT:-5}
within() { awk -v s="$1" -v l="$LIMIT" 'BEGIN{exit !(s<=l)}'; }
t1=$(now)
if scan "$LIMIT"; then
  took=$(t "$t1")
  missing=""
  for ssid in HostileOpen HostileWpa2 HostileOpen5 HostileSae; do
    grep -q "SSID: $ssid\$" /tmp/scan.txt || missing+=" $ssid"
  done
  if [ -z "$missing" ] && within "$took"; then pass "honest host: the scan lists the 4 networks (${took}s, limit ${LIMIT}s)"
  else fail "honest host: scan in ${took}s (limit ${LIMIT}s), missing:${missing:- none}"; fi
else fail "honest host: the scan did not finish within ${LIMIT}s: $(tail -n 3 /tmp/events.txt)"; fi
t1=$(now)
run_op connect 60 iw dev $PW connect HostileOpen
if wait_for "$LIMIT" connected_to 02:00:00:00:b0:01 && took=$(t "$t1") && within "$took"; then
  pass "honest host: iw connect HostileOpen connected (${took}s, limit ${LIMIT}s)"
else fail "honest host: connect after $(t "$t1")s (limit ${LIMIT}s): $(iw dev $PW link 2>&1 | head -n 2); $(cat /tmp/op.out)"; fi
run_op disconnect 10 iw dev $PW disconnect
t1=$(now)
run_op wpa_supplicant 60 wpa_supplicant -B -i $PW -D nl80211 -c /tmp/wpas.conf -P /tmp/wpas.pid -f /tmp/wpas.log \
  && WPAS_PID=$(cat /tmp/wpas.pid 2>/dev/null)
if wait_for 15 sh -c "wpa_cli -p /tmp/wpas-ctrl -i $PW status | grep -q '^wpa_state=COMPLETED'"; then
  pass "honest host: wpa_supplicant WPA2-PSK COMPLETED ($(t "$t1")s)"
else fail "honest host: wpa_supplicant: $(wpa_cli -p /tmp/wpas-ctrl -i $PW status 2>&1 | grep wpa_state); $(tail -n 3 /tmp/wpas.log)"; fi
stop_wpas
t1=$(now)
if run_op rmmod 90 rmmod proxy_wifi; then pass "final rmmod ($(t "$t1")s)"
else fail "final rmmod: $(cat /tmp/op.out)"; fi

# ---------------------------------------------------------------- the host's counts
kill -TERM $HOST 2>/dev/null
wait_for 10 sh -c "! kill -0 $HOST" || kill -9 $HOST 2>/dev/null
kill $EVENTS 2>/dev/null
section "the mutating host's counts (/tmp/host-stats.json)"
if [ -s /tmp/host-stats.json ]; then
  cat /tmp/host-stats.json
  # The counts in one line each, for the summary.
  tr -d ' \n' </tmp/host-stats.json | grep -oE '"(requests|answers|notifications)":\{[^}]*\}' | sed 's/^/  /'
  kinds=$(tr -d ' \n' </tmp/host-stats.json | grep -oE '"answers":\{[^}]*\}' | grep -o '":' | wc -l)
  kinds=$((kinds - 1))
  notes=$(tr -d ' \n' </tmp/host-stats.json | grep -oE '"notifications":\{[^}]*\}' | grep -oE '[0-9]+' | awk '{s+=$1} END{print s+0}')
  reqs=$(tr -d ' \n' </tmp/host-stats.json | grep -oE '"requests":\{[^}]*\}' | grep -oE '[0-9]+' | awk '{s+=$1} END{print s+0}')
  if [ "$reqs" -gt 0 ] && [ "$kinds" -ge 8 ] && [ "$notes" -gt 0 ]; then
    pass "the host was hostile: $reqs requests, $kinds mutation kinds answered, $notes notifications delivered"
  else fail "the host was not hostile enough: $reqs requests, $kinds mutation kinds, $notes notifications"; fi
else fail "no statistics from the host: $(tail -n 5 /tmp/host.err)"; fi

# ---------------------------------------------------------------- the kernel
section "kernel log"
collect_klog
echo "  driver messages ($(grep -cE "proxy_wifi|$PW: " $KLOG) lines), most frequent (numbers as N):"
grep -E "proxy_wifi|$PW: " $KLOG | sed -E 's/^\[[^]]*\] //; s/[0-9a-f]{2}(:[0-9a-f]{2}){5}/MAC/g; s/[0-9]+/N/g' \
  | sort | uniq -c | sort -rn | head -n 15 | sed 's/^/   /'
taint=$(cat /proc/sys/kernel/tainted)
bad=$(kernel_bad || true)
if [ -z "$bad" ] && [ $((taint & (512 | 128))) -eq 0 ]; then
  pass "kernel log clean (no BUG/KASAN/UBSAN/WARNING/lockdep/ODEBUG/list corruption/Oops/Call Trace; taint $taint)"
else
  fail "kernel log (taint $taint): $(echo "$bad" | head -n 5)"
  grep -B 5 -A 40 -m 3 -E "$BAD_KERNEL" $KLOG | head -n 150
fi

echo
echo "HOSTILE HOST TEST ($(uname -r), $MINUTES min, seed $SEED): $passed passed, $failed failed in $(t "$T0")s"
[ "$failed" = 0 ]
