#!/usr/bin/env bash
# Installs and starts a Docker engine when none answers, and Docker Compose v1 for the
# compatibility tests. Idempotent: an engine that already answers is used as it is.
source "$(dirname "$0")/lib.sh"

if docker info >/dev/null 2>&1; then
  log "docker engine already running"
else
  apt_install docker.io
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
  fi
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd (no bridge, no iptables: containers use host networking)"
    # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: Swarm tasks run the local image instead of asking a
    # registry first (nothing is pulled on this machine; images are built here).
    as_root sh -c 'DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/qscale-dockerd.log 2>&1 &'
  fi
  wait_for 60 "docker socket" docker info \
    || die "dockerd did not answer on /var/run/docker.sock within 60 s; see /var/log/qscale-dockerd.log"
  log "docker engine ready"
fi

command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
