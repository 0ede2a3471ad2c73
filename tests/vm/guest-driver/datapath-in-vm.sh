# The in-VM part of tests/vm/guest-driver/datapath.sh (sourced after IN_VM_PRELUDE,
# which gives now/t/pass/fail/wait_for/HI; ROUNDS, SECS and SMOKE come from the host).
#
# Lower device: eth0, a veth whose peer srvnet sits in the network namespace "srv"
# (10.99.0.1, iperf3 -s). The guest side's address 10.99.0.2 is put on (a) eth0, (b) pw0
# (proxy_wifi on eth0, connected to SimOpen of `proxy-wifi serve --mode simulated`) or
# (c) vwifi0 (virt_wifi on eth0, connected to its VirtWifi network). (b) and (c) each
# take eth0's rx handler, so they are created and deleted in every round. With
# /root/proxy_wifi-base.ko (datapath.sh DATAPATH_BASE=REV) a fourth set-up, (o), is pw0
# made by that build of the driver, loaded in place of the one under test for its turn.

SOCK=/tmp/pw.sock
SERVE_PID=""
HOST_STA=${WIFI_LAB_STA:-wlan2}
PW=pw0; VW=vwifi0
SRV=10.99.0.1; ME=10.99.0.2
S="ip netns exec srv"
source /root/helpers-in-vm.sh

stat_of() { cat "/sys/class/net/$1/statistics/$2" 2>/dev/null || echo 0; }
flush_neigh() { ip neigh flush all 2>/dev/null; $S ip neigh flush all 2>/dev/null; true; }

# ---------------------------------------------------------------- set-ups
pw_up() { # creates pw0 on eth0 (not connected)
  ip link add link eth0 name $PW type proxy_wifi || return 1
  ip link set $PW up
}
pw_connect() {
  local i
  for i in 1 2 3; do
    iw dev $PW scan trigger >/dev/null 2>&1
    wait_for 10 sh -c "iw dev $PW scan dump | grep -q SimOpen" && break
  done
  iw dev $PW connect SimOpen
  wait_for 10 sh -c "iw dev $PW link | grep -q 'Connected to 02:00:00:00:a0:02'"
}
vw_up() {
  ip link add link eth0 name $VW type virt_wifi || return 1
  ip link set $VW up
  local bssid=""
  timeout 30 iw dev $VW scan >/tmp/vw-scan.txt 2>&1
  bssid=$(awk '/^BSS /{print substr($2, 1, 17); exit}' /tmp/vw-scan.txt)
  [ -n "$bssid" ] || { echo "  virt_wifi scan found nothing: $(head -n 3 /tmp/vw-scan.txt)"; return 1; }
  # virt_wifi accepts a connection only to its own BSSID (random at load)
  iw dev $VW connect VirtWifi "$bssid"
  wait_for 10 sh -c "iw dev $VW link | grep -q 'Connected to'"
}
# load_pw FILE: the proxy_wifi module built from FILE, in place of the loaded one
PW_KO=""
load_pw() {
  [ "$PW_KO" = "$1" ] && return 0
  [ -z "$PW_KO" ] || rmmod proxy_wifi || return 1
  PW_KO=""
  insmod "$1" || return 1
  PW_KO=$1
}
# use SETUP / unuse SETUP: the guest's address on the set-up's interface
use() {
  flush_neigh
  case $1 in
  a) ip addr add $ME/24 dev eth0 ;;
  b) load_pw /root/proxy_wifi.ko && pw_up && pw_connect && ip addr add $ME/24 dev $PW ;;
  o) load_pw /root/proxy_wifi-base.ko && pw_up && pw_connect && ip addr add $ME/24 dev $PW ;;
  c) vw_up && ip addr add $ME/24 dev $VW ;;
  esac || return 1
  wait_for 5 ping -c 1 -W 1 $SRV
}
unuse() {
  case $1 in
  a) ip addr flush dev eth0 ;;
  b|o) ip link del $PW ;;
  c) # disconnected and down first: virt_wifi deleted while connected makes 6.1's
     # cfg80211 warn (_cfg80211_unregister_wdev)
     iw dev $VW disconnect 2>/dev/null
     wait_for 5 sh -c "iw dev $VW link | grep -q 'Not connected'"
     ip link set $VW down
     ip link del $VW ;;
  esac
  flush_neigh
}
dev_of() { case $1 in a) echo eth0 ;; b|o) echo $PW ;; c) echo $VW ;; esac; }
name_of() { case $1 in a) echo "veth" ;; b) echo "proxy_wifi" ;; o) echo "proxy_wifi (base)" ;; c) echo "virt_wifi" ;; esac; }

# ---------------------------------------------------------------- measurements
# tcp STREAMS [-R]: Mbit/s received (iperf3's receiver line; the SUM line with -P > 1)
tcp() {
  timeout $((SECS + 30)) iperf3 -c $SRV -t "$SECS" -O 1 -f m -P "$1" ${2:-} 2>&1 \
    | awk '/receiver/{for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i-1)} END{print v + 0}'
}
# udp [-R]: datagrams/s received, 64-byte payload, unlimited rate
udp() {
  timeout $((SECS + 30)) iperf3 -c $SRV -u -l 64 -b 0 -t "$SECS" -f m ${1:-} 2>&1 \
    | awk '/receiver/{d = 0; n = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^[0-9.]+-[0-9.]+$/) { split($i, iv, "-"); d = iv[2] - iv[1] }
          if ($i ~ /^[0-9]+\/[0-9]+$/) { split($i, lt, "/"); n = lt[2] - lt[1] }
        }
        if (d > 0) v = n / d }
      END{printf "%.0f\n", v}'
}
# lat: "p50 p99" of 500 ping RTTs (ms), 10 ms apart
lat() {
  ping -i 0.01 -c 500 -W 2 $SRV 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n \
    | awk '{a[NR] = $1} END{if (NR < 450) {print "0 0"; exit}
        i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); print a[i50], a[i99]}'
}
METRICS="tcp1_tx tcp1_rx tcp4_tx tcp4_rx udp64_tx udp64_rx rtt_p50 rtt_p99"
measure() { # SETUP ROUND: appends "setup metric round value" to /tmp/res
  local s=$1 r=$2 l
  {
    echo "$s tcp1_tx $r $(tcp 1)"
    echo "$s tcp1_rx $r $(tcp 1 -R)"
    echo "$s tcp4_tx $r $(tcp 4)"
    echo "$s tcp4_rx $r $(tcp 4 -R)"
    echo "$s udp64_tx $r $(udp)"
    echo "$s udp64_rx $r $(udp -R)"
    l=$(lat)
    echo "$s rtt_p50 $r ${l% *}"
    echo "$s rtt_p99 $r ${l#* }"
  } >>/tmp/res
}

# ---------------------------------------------------------------- set-up
section "set-up ($(uname -r)): veth eth0 <-> srvnet in netns srv, iperf3 -s there"
modprobe veth
ip netns add srv
ip link add eth0 type veth peer name srvnet
ip link set srvnet netns srv
$S ip link set lo up
$S ip addr add $SRV/24 dev srvnet
$S ip link set srvnet up
ip link set eth0 up
$S iperf3 -s -D --logfile /tmp/iperf3-server.log
load_pw /root/proxy_wifi.ko || { fail "insmod proxy_wifi.ko: $(dmesg | tail -n 3)"; exit 1; }
if [ "${SMOKE:-0}" = 1 ]; then :
elif modprobe virt_wifi 2>/dev/null; then echo "virt_wifi: the kernel's own module"
elif insmod /root/virt_wifi.ko; then echo "virt_wifi: built from the kernel's linux-source package"
else fail "loading virt_wifi: $(dmesg | tail -n 3)"; exit 1; fi
start_serve --mode simulated --networks /root/networks.toml || exit 1
# listening on port 5201 (0x1451) in srv
wait_for 10 $S sh -c 'grep -q ":1451 0" /proc/net/tcp6 /proc/net/tcp' \
  || echo "  (iperf3 server not listening yet: $(cat /tmp/iperf3-server.log))"

# ---------------------------------------------------------------- correctness
section "correctness of the proxy_wifi data path"
# Frames received while pw0 is not connected stay eth0's.
ip addr add $ME/24 dev eth0
pw_up || { fail "ip link add ... type proxy_wifi: $(dmesg | tail -n 3)"; exit 1; }
rx0=$(stat_of $PW rx_packets)
if $S ping -c 5 -i 0.2 -W 2 $ME >/dev/null && [ "$(stat_of $PW rx_packets)" = "$rx0" ]; then
  pass "not connected: eth0 answers the peer's pings, $PW received nothing ($rx0 packets)"
else fail "not connected: ping eth0 from the peer, $PW rx_packets $rx0 -> $(stat_of $PW rx_packets)"; fi
ip addr flush dev eth0; flush_neigh
if pw_connect && ip addr add $ME/24 dev $PW && wait_for 5 ping -c 1 -W 1 $SRV; then
  pass "$PW connected to SimOpen, ping through it"
else fail "connecting $PW: $(iw dev $PW link)"; fi

# What pw0 offloads: every offload eth0 has on that a stacked device can pass down.
feats="tx-checksumming scatter-gather tcp-segmentation-offload generic-segmentation-offload tx-checksum-ip-generic highdma"
on_list() { ethtool -k "$1" 2>/dev/null | awk -v want=" $feats " -F': ' \
  '{k = $1; gsub(/^[ \t]+/, "", k); split($2, v, " ")} index(want, " " k " ") && v[1] == "on" {printf "%s ", k}'; }
echo "  ethtool -k eth0 (on): $(on_list eth0)"
echo "  ethtool -k $PW (on): $(on_list $PW)"
echo "  ethtool -k $PW, every feature on:"; ethtool -k $PW | grep ': on' | sed 's/^/    /'
missing=""
for f in $(on_list eth0); do case " $(on_list $PW) " in *" $f "*) ;; *) missing="$missing $f" ;; esac; done
[ -z "$missing" ] && pass "$PW offloads what eth0 does: $(on_list $PW)" \
  || fail "$PW lacks offloads eth0 has:$missing"
# A change of eth0's features reaches pw0.
ethtool -K eth0 tso off >/dev/null 2>&1
tso_off=$(ethtool -k $PW | awk -F': ' '/^tcp-segmentation-offload/{print $2}')
ethtool -K eth0 tso on >/dev/null 2>&1
tso_on=$(ethtool -k $PW | awk -F': ' '/^tcp-segmentation-offload/{print $2}')
case "$tso_off/$tso_on" in
off*/on*) pass "eth0's TSO off/on is followed by $PW ($tso_off / $tso_on)" ;;
*) fail "eth0's TSO off/on: $PW shows '$tso_off' / '$tso_on'" ;;
esac
# The MTU follows eth0.
ip link set eth0 mtu 1400; m1=$(cat /sys/class/net/$PW/mtu)
ip link set eth0 mtu 1500; m2=$(cat /sys/class/net/$PW/mtu)
[ "$m1/$m2" = "1400/1500" ] && pass "$PW's MTU follows eth0's (1400, then 1500)" \
  || fail "$PW's MTU with eth0 at 1400 then 1500: $m1, $m2"
# Intact data: fragmented pings both ways, a TCP transfer each way checked by sha256.
if ping -c 3 -s 8000 -W 3 $SRV >/dev/null && $S ping -c 3 -s 8000 -W 3 $ME >/dev/null; then
  pass "ping -s 8000 (fragmented) through $PW, both ways"
else fail "ping -s 8000 through $PW"; fi
head -c 16777216 /dev/urandom >/tmp/blob
want=$(sha256sum </tmp/blob | cut -d' ' -f1)
$S socat -u TCP-LISTEN:5301,reuseaddr OPEN:/tmp/blob.in,creat,trunc &
sleep 0.5
socat -u OPEN:/tmp/blob TCP:$SRV:5301,retry=10
wait $!
got_tx=$(sha256sum </tmp/blob.in | cut -d' ' -f1)
socat -u TCP-LISTEN:5302,reuseaddr OPEN:/tmp/blob.back,creat,trunc &
sleep 0.5
$S socat -u OPEN:/tmp/blob TCP:$ME:5302,retry=10
wait $!
got_rx=$(sha256sum </tmp/blob.back | cut -d' ' -f1)
[ "$got_tx" = "$want" ] && [ "$got_rx" = "$want" ] \
  && pass "16 MiB over TCP through $PW, each way: sha256 intact (${want:0:16}...)" \
  || fail "TCP transfer through $PW: sha256 sent $want, peer got $got_tx, back $got_rx"
rm -f /tmp/blob /tmp/blob.in /tmp/blob.back
# After a disconnection, frames are eth0's again.
iw dev $PW disconnect
wait_for 5 sh -c "iw dev $PW link | grep -q 'Not connected'"
ip addr flush dev $PW; ip addr add $ME/24 dev eth0; flush_neigh
rx0=$(stat_of $PW rx_packets)
if $S ping -c 5 -i 0.2 -W 2 $ME >/dev/null && [ "$(stat_of $PW rx_packets)" = "$rx0" ]; then
  pass "after a disconnection: eth0 answers the peer again, $PW received nothing"
else fail "after a disconnection: $PW rx_packets $rx0 -> $(stat_of $PW rx_packets)"; fi
unuse a; ip link del $PW
kernel_clean "the correctness checks"

# ---------------------------------------------------------------- rounds
if [ "${SMOKE:-0}" != 1 ]; then
  : >/tmp/res
  order=(a b c)
  have_base=0
  [ -f /root/proxy_wifi-base.ko ] && { order=(a b o c); have_base=1; }
  for r in $(seq "$ROUNDS"); do
    section "round $r of $ROUNDS (${SECS}s iperf3 runs)"
    for s in "${order[@]}"; do
      t1=$(now)
      if ! use "$s"; then fail "round $r: setting up $(name_of "$s")"; unuse "$s"; continue; fi
      d=$(dev_of "$s"); tx0=$(stat_of "$d" tx_packets); rx0=$(stat_of "$d" rx_packets)
      measure "$s" "$r"
      echo "  $(name_of "$s") on $d: $(grep "^$s " /tmp/res | awk -v r="$r" '$3 == r {printf "%s=%s ", $2, $4}')($(t "$t1")s; $d tx +$(( $(stat_of "$d" tx_packets) - tx0 )) rx +$(( $(stat_of "$d" rx_packets) - rx0 )) packets)"
      unuse "$s"
    done
    order=("${order[@]:1}" "${order[0]}")  # rotate: each set-up takes each place in turn
  done
  kernel_clean "the rounds"

  section "ratio table ($(uname -r), $ROUNDS rounds, medians; ratios to the veth alone, same boot)"
  awk -v metrics="$METRICS" '
    { v[$1, $2, ++n[$1, $2]] = $4; r[$1, $2, $3] = $4; rounds[$3] = 1 }
    function median(s, m,   k, i, j, t, a) {
      k = n[s, m]; for (i = 1; i <= k; i++) a[i] = v[s, m, i]
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      if (k == 0) return 0
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "-" }
    END {
      printf "%-10s %-7s %9s %9s %9s %9s %6s %6s %6s %6s  %s\n", "metric", "unit", "veth", "pw", "pw base", "virt_wifi", "pw/a", "base/a", "vw/a", "pw/vw", "pw/a per round"
      split(metrics, ms, " ")
      for (i = 1; i in ms; i++) {
        m = ms[i]; unit = (m ~ /^tcp/) ? "Mbit/s" : (m ~ /^udp/) ? "pkt/s" : "ms"
        a = median("a", m); b = median("b", m); c = median("c", m); o = median("o", m)
        per = ""
        for (k = 1; (k) in rounds; k++) per = per ratio(r["b", m, k], r["a", m, k]) " "
        printf "%-10s %-7s %9s %9s %9s %9s %6s %6s %6s %6s  %s\n", m, unit, a, b, (o > 0 ? o : "-"), c, ratio(b, a), (o > 0 ? ratio(o, a) : "-"), ratio(c, a), ratio(b, c), per
      }
    }' /tmp/res
  echo "(tx: the guest sends to the peer; rx: it receives, iperf3 -R; rtt: ping -i 0.01 -c 500;"
  echo " pw: proxy_wifi under test; pw base: proxy_wifi built from DATAPATH_BASE, or -)"
fi

stop_serve
rmmod virt_wifi 2>/dev/null
rmmod proxy_wifi && pass "rmmod proxy_wifi" || fail "rmmod proxy_wifi"
kernel_clean "the benchmark"
echo "GUEST DATA PATH: $passed passed, $failed failed"
[ "$failed" = 0 ]
