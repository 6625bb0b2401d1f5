#!/usr/bin/env bash
# The main job, end to end: start the fleet, load-test it at 2 workers per queue, scale every
# queue to 4 workers, load-test again, and compare. The fleet is left running for a look around.
# Runs in the current folder (qscale's repository, or a project `qscale init` wrote); QSCALE is
# the command that runs qscale there.
set -euo pipefail
read -r -a QSCALE <<< "${QSCALE:-node bin/qscale.js}"
TASKS=${TASKS:-100}
OUT=build/demo
mkdir -p "$OUT"

# Bold headings only on a terminal, never with NO_COLOR: no escape codes into pipes or logs.
if [[ -t 1 && -z "${NO_COLOR:-}" && "${TERM:-dumb}" != dumb ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }

# Waits until every worker queue has as many consumers as its service has running containers.
wait_for_consumers() {
  local deadline=$((SECONDS + 60))
  until "${QSCALE[@]}" status --json | node -e '
    const status = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const ready = status.services.every((s) => s.broker && s.running > 0 && s.broker.consumers >= s.running);
    process.exit(ready ? 0 : 1);'; do
    if [ $SECONDS -ge $deadline ]; then
      echo "demo: workers did not start consuming within 60 s" >&2
      "${QSCALE[@]}" status >&2
      "${QSCALE[@]}" logs --tail 20 >&2 || true
      exit 1
    fi
    sleep 1
  done
}

step "Start the fleet: every worker service at its initial replicas"
"${QSCALE[@]}" up --reset
wait_for_consumers
"${QSCALE[@]}" status

step "Load test with 2 workers per queue: $TASKS tasks per queue, 100 ms each"
"${QSCALE[@]}" load-test --tasks "$TASKS" --task-ms 100 --max-lost 0 --max-duplicates 0 --out "$OUT/2-workers.json"

step "Scale every queue to 4 workers"
"${QSCALE[@]}" scale-all 4
wait_for_consumers
"${QSCALE[@]}" ps

step "The same load with 4 workers per queue"
"${QSCALE[@]}" load-test --tasks "$TASKS" --task-ms 100 --max-lost 0 --max-duplicates 0 --out "$OUT/4-workers.json"

step "2 workers (A) against 4 workers (B)"
"${QSCALE[@]}" load-test --compare "$OUT/2-workers.json" "$OUT/4-workers.json"

step "Fleet status"
"${QSCALE[@]}" status
cat <<'EOT'

The fleet is still running. Try: make ps · make status · make monitor · make scale QUEUE=worker-a COUNT=3
Results are in build/demo/. Stop everything with: make down
EOT
