#!/usr/bin/env bash
# Runs every benchmark; each prints its figures and ratios against a reference measured in the
# same run. Nothing here passes or fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
echo "== scale: qscale vs raw dockerode vs docker-compose"
node bench/scale.mjs
echo
echo "== load test: qscale load-test vs raw amqplib"
npx esbuild bench/loadtest.ts --bundle --platform=node --format=esm --packages=external --outfile=bench/dist/loadtest.mjs --log-level=warning
node bench/dist/loadtest.mjs
echo
echo "== autoscale: burst to first new consumer"
node bench/autoscale.mjs
echo
echo "== autoscale policies on 1 h traces (simulator): old default vs rate mode"
npx esbuild bench/autoscale-traces.ts --bundle --platform=node --format=esm --packages=external --outfile=bench/dist/autoscale-traces.mjs --log-level=warning && node bench/dist/autoscale-traces.mjs
