#!/usr/bin/env bash
# Validates every ```xml block of README.md with libvirt's own schema (virt-xml-validate,
# package libvirt-clients, installed when missing): a whole <domain> as it is, a device
# (such as <vsock>) inside a minimal domain's <devices>. So the documentation's libvirt
# XML cannot rot.
#
#   bash tests/docs/libvirt-xml.sh [FILE.md]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
doc=${1:-$root/README.md}
if ! command -v virt-xml-validate >/dev/null || ! command -v xmllint >/dev/null; then
  echo "installing libvirt-clients (virt-xml-validate)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvirt-clients libxml2-utils >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvirt-clients libxml2-utils >/dev/null; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Each fenced xml block (indented or not) to its own file.
awk -v dir="$work" '
  /^[[:space:]]*```xml[[:space:]]*$/ { n++; file = sprintf("%s/block%d.xml", dir, n); inside = 1; next }
  inside && /^[[:space:]]*```[[:space:]]*$/ { inside = 0; close(file); next }
  inside { sub(/^  /, ""); print > file }
' "$doc"
blocks=("$work"/block*.xml)
[ -e "${blocks[0]}" ] || { echo "FAIL no xml block in $doc"; exit 1; }
failed=0
for block in "${blocks[@]}"; do
  if grep -q '<domain' "$block"; then
    cp "$block" "$work/doc.xml"
  else
    { echo "<domain type='kvm'><name>vm</name><memory>1048576</memory>"
      echo "<os><type arch='x86_64'>hvm</type></os><devices>"
      cat "$block"
      echo "</devices></domain>"; } >"$work/doc.xml"
  fi
  if out=$(virt-xml-validate "$work/doc.xml" domain 2>&1); then
    echo "PASS $(basename "$doc") xml block $(basename "$block" .xml | tr -dc 0-9): $(tr -s ' \n' ' ' <"$block" | cut -c 1-70)"
  else
    echo "FAIL $(basename "$doc") xml block: $(cat "$block")"; echo "$out"; failed=1
  fi
done
exit $failed
