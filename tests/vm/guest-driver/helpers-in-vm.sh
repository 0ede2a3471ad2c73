# Helpers shared by the in-VM scripts of tests/vm/guest-driver (sourced after
# IN_VM_PRELUDE, which gives now/t/pass/fail/wait_for/HI; the caller sets SOCK and
# HOST_STA).

section() { echo; echo "=== [$(t "$T0")s] $*"; }
# Fails if the kernel was tainted by a WARN/oops or dmesg shows a splat since the last check.
kernel_clean() {
  local taint; taint=$(cat /proc/sys/kernel/tainted)
  local bad; bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|circular locking|inconsistent lock state|sleeping function called from invalid context|ODEBUG|refcount_t:|UBSAN|KASAN|list_(add|del) corruption|kernel BUG' || true)
  if [ $((taint & (512 | 128))) -ne 0 ] || [ -n "$bad" ]; then
    fail "kernel clean after $1 (taint $taint): $(echo "$bad" | head -n 5)"
    dmesg | grep -B 5 -A 30 -E 'WARNING:|BUG:|Oops' | head -n 80
    return 1
  fi
  pass "kernel clean after $1 (no WARNING/BUG/oops, taint $taint)"
}
start_serve() { # args for serve (SERVE_WRAP: a command to run it under)
  stop_serve
  $HI ${SERVE_WRAP:-} proxy-wifi -v serve --transport vsock --guest-cid 1 --control-socket $SOCK "$@" \
    >/tmp/serve.out 2>>/tmp/serve.log &
  SERVE_PID=$!
  # 30 s: on a loaded machine under TCG its start (the simulated interface) took over 15.
  wait_for 30 grep -q serving /tmp/serve.out || { fail "serve did not start: $(tail -n 5 /tmp/serve.log)"; return 1; }
}
stop_serve() {
  [ -n "$SERVE_PID" ] || return 0
  kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""
}

# The real chain's host side: wpa_supplicant on the lab station $HOST_STA (control
# sockets in /run/wpas-host, $HW to talk to it) and `serve --mode host --backend
# wpa-supplicant` on it; waits until the backend has added the interface.
start_host_chain() {
  mkdir -p /run/wpas-host
  printf 'ctrl_interface=/run/wpas-host\n' >/tmp/host-wpas.conf
  wpa_supplicant -B -D nl80211 -i "$HOST_STA" -c /tmp/host-wpas.conf -f /tmp/host-wpas.log -P /tmp/host-wpas.pid
  wait_for 5 sh -c "wpa_cli -p /run/wpas-host -i $HOST_STA ping | grep -q PONG" || fail "host wpa_supplicant on $HOST_STA"
  HW="wpa_cli -p /run/wpas-host -i $HOST_STA"
  $HW scan freq="$WIFI_LAB_SCAN_FREQS" >/dev/null
  wait_for 20 sh -c "$HW scan_results | grep -q lab-wpa2 && $HW scan_results | grep -q lab-open" \
    || echo "  note: the host's own first scan did not see both lab networks yet"
  start_serve --mode host --backend wpa-supplicant --wpa-ctrl-dir /run/wpas-host
  wait_for 10 grep -q "interface added" /tmp/serve.log || fail "the backend did not add $HOST_STA"
}
