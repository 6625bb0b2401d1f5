#!/usr/bin/env bash
# Installs and starts a local RabbitMQ broker on 127.0.0.1:5672 (guest/guest) when none answers.
source "$(dirname "$0")/lib.sh"

broker_answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

management_answers() { (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; }

if broker_answers && ! command -v rabbitmqctl >/dev/null; then
  log "a broker answers on 127.0.0.1:5672 (not managed here)"
  exit 0
fi
apt_install rabbitmq-server
if ! rabbitmqctl status >/dev/null 2>&1; then
  log "starting rabbitmq-server"
  as_root rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_for 90 "rabbitmq" rabbitmqctl status || die "rabbitmq-server did not start within 90 s; see /var/log/rabbitmq/"
else
  log "rabbitmq already running"
fi
wait_for 30 "amqp port" broker_answers || die "rabbitmq runs but 127.0.0.1:5672 does not answer"
# The management API gives `qscale status` unacked counts; the plugin ships with the package.
if ! management_answers; then
  as_root rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null 2>&1 || log "could not enable rabbitmq_management (status shows no unacked counts)"
  wait_for 30 "management API" management_answers || log "management API not answering on 127.0.0.1:15672"
fi
log "rabbitmq ready"
