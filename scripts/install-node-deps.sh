#!/bin/sh
# Installs the npm packages the integration tests use as real peers (MQTT.js),
# into tests/integration/node_modules, once.
set -eu
cd "$(dirname "$0")/../tests/integration"
if [ ! -d node_modules/mqtt ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
