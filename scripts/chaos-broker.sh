#!/usr/bin/env bash
# A RabbitMQ node of its own for `make chaos`: the fault tests stop, kill and alarm this node,
# never the shared broker on 5672 that the rest of the tests, the demo and other users rely on.
#   scripts/chaos-broker.sh start    start it (idempotent); AMQP 127.0.0.1:5673, management 15673
#   scripts/chaos-broker.sh stop     stop it (idempotent)
# The tests drive faults with `rabbitmqctl -n qscale-chaos@localhost …` and restart the node with
# `start` after a kill. Listeners are bound to 127.0.0.1 only.
source "$(dirname "$0")/lib.sh"

NODE=qscale-chaos@localhost
BASE=${QSCALE_CHAOS_BROKER_DIR:-/var/lib/qscale-chaos-broker}

NODE_ENV=(RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_PORT=5673 RABBITMQ_DIST_PORT=25673
  RABBITMQ_MNESIA_BASE=$BASE/mnesia RABBITMQ_LOG_BASE=$BASE/log
  RABBITMQ_CONFIG_FILE=$BASE/chaos.conf RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins
  RABBITMQ_PID_FILE=$BASE/pid)

running() { rabbitmqctl -n "$NODE" status >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    command -v rabbitmq-server >/dev/null || bash "$(dirname "$0")/setup-rabbitmq.sh"
    if running; then
      # A node whose app was stopped (stop_app) by an interrupted test comes back too.
      rabbitmqctl -n "$NODE" start_app >/dev/null 2>&1 || true
      log "chaos broker already running"
      exit 0
    fi
    as_root mkdir -p "$BASE"
    cat >"$BASE/chaos.conf" <<CONF
listeners.tcp.default = 127.0.0.1:5673
management.tcp.port = 15673
management.tcp.ip = 127.0.0.1
CONF
    echo "[rabbitmq_management]." >"$BASE/enabled_plugins"
    as_root chown -R rabbitmq:rabbitmq "$BASE" 2>/dev/null || true
    log "starting the chaos broker $NODE on 127.0.0.1:5673"
    as_root env "${NODE_ENV[@]}" rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_for 90 "chaos broker" running || die "the chaos broker did not start within 90 s; see $BASE/log/"
    wait_for 30 "chaos broker port" bash -c '(exec 3<>/dev/tcp/127.0.0.1/5673)' || die "the chaos broker runs but 127.0.0.1:5673 does not answer"
    log "chaos broker ready"
    ;;
  stop)
    running && rabbitmqctl -n "$NODE" stop >/dev/null 2>&1 || true
    ;;
  *)
    die "usage: chaos-broker.sh start|stop"
    ;;
esac
