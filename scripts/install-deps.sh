#!/bin/sh
# Installs the Debian 12 packages Urbis needs to build and test, non-interactively
# and idempotently: packages already present are skipped, so a second run is quick.
set -eu

PKGS="build-essential cmake ninja-build pkg-config
libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
libssl-dev libsqlite3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
libgtest-dev libgmock-dev libbenchmark-dev
clang-14 libclang-rt-14-dev
mosquitto mosquitto-clients openssl curl wrk libjemalloc2"
# Node.js (for the MQTT.js test peer) may come from Debian or from NodeSource,
# which bundles npm; only ask apt for it when no node is on the PATH.
if ! command -v npm >/dev/null 2>&1; then PKGS="$PKGS nodejs npm"; fi

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "urbis: installing Debian packages:$missing"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
fi
