#!/usr/bin/env bash
# Installs the Debian 12 packages that building, the demo and the tests need.
# Run as root on a fresh machine; does nothing when everything is there already.
set -euo pipefail

packages=(
  make gcc python3 curl
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
  libcurl4-openssl-dev libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
  chromium
)
# Node (the browser tests and the UI demo): Debian's, unless a node and npm are there already.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run this as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
