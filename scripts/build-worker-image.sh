#!/usr/bin/env bash
# Builds the worker image (default qscale/worker:local) from templates/worker/src, offline:
# the base image is made from this host's node, the worker is one esbuild bundle.
# Always rebuilds: bundling takes well under a second and docker build caches the layers.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

IMAGE=${QSCALE_WORKER_IMAGE:-qscale/worker:local}
BASE_IMAGE=${QSCALE_BASE_IMAGE:-qscale/node-base:local}

bash scripts/build-base-image.sh
mkdir -p build/worker
npx esbuild templates/worker/src/main.ts --bundle --platform=node --target=node20 \
  --outfile=build/worker/worker.js --log-level=warning \
  || die "bundling the worker failed"
docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -f templates/Dockerfile -t "$IMAGE" build/worker >/dev/null \
  || die "docker build of $IMAGE failed"
log "worker image $IMAGE ready"
