#!/usr/bin/env bash
# Makes the offline Node base image (default qscale/node-base:local) by `docker import` of a
# root filesystem holding this host's node binary and the shared libraries ldd lists for it.
# Nothing is pulled from a registry. Skips the work when the image already exists.
source "$(dirname "$0")/lib.sh"

IMAGE=${QSCALE_BASE_IMAGE:-qscale/node-base:local}
if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "${1:-}" != "--force" ]; then
  log "base image $IMAGE already exists"
  exit 0
fi

NODE_BIN=$(command -v node) || die "node is not installed on this host"
NODE_BIN=$(readlink -f "$NODE_BIN")
ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT

copy_with_parents() { mkdir -p "$ROOTFS$(dirname "$1")"; cp -L "$1" "$ROOTFS$1"; }

mkdir -p "$ROOTFS"/{usr/local/bin,etc,tmp,app,home/node}
chmod 1777 "$ROOTFS/tmp"
cp -L "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
# Every library the dynamic linker resolves for node, plus the loader itself.
for lib in $(ldd "$NODE_BIN" | grep -oE '/[^ ]+' ); do
  copy_with_parents "$lib"
done
# Name resolution for "localhost" and a non-root user the worker image runs as.
for f in /etc/nsswitch.conf; do [ -f "$f" ] && copy_with_parents "$f"; done
for lib in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libresolv.so.2; do
  [ -f "$lib" ] && copy_with_parents "$lib"
done
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ROOTFS/etc/hosts"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$ROOTFS/etc/group"
chown 1000:1000 "$ROOTFS/home/node"

log "importing $IMAGE ($(du -sh "$ROOTFS" | cut -f1))"
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'WORKDIR /app' \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
docker run --rm --network host "$IMAGE" node -e 'console.log("node " + process.version + " runs in " + require("os").hostname())' >&2 \
  || die "the imported base image $IMAGE cannot run node"
log "base image $IMAGE ready"
