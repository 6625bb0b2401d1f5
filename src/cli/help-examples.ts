/** Examples shown after each command's --help: what a user types most, with the flags that matter. */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  up: ['qscale up                      # every worker service at its initial_replicas', 'qscale up --reset --dry-run    # show what restoring every count would do'],
  down: ['qscale down', 'qscale down --timeout 30s --json'],
  scale: ['qscale scale worker-a 5', 'qscale scale worker-a 0 --timeout 60   # let running tasks finish for up to 60 s', 'qscale scale worker-a 3 --dry-run       # print each Docker operation and why'],
  'scale-all': ['qscale scale-all 2', 'qscale scale-all 0 --json'],
  status: ['qscale status', 'qscale status --watch 5s', 'qscale status --json | jq .services'],
  ps: ['qscale ps', 'qscale ps worker-a --json'],
  logs: ['qscale logs worker-a --tail 50', 'qscale logs -f --since 10m', 'qscale logs --json | jq -r .message'],
  events: ['qscale events', 'qscale events worker-a --json'],
  'load-test': ['qscale load-test --tasks 1000 --task-ms 50-200', 'qscale load-test --rate 100 --duration 2m --max-p95 2s --out run.json'],
  autoscale: ['qscale autoscale --dry-run --once   # one decision per service, nothing changed', 'qscale autoscale --metrics-port 9464'],
  init: ['qscale init my-fleet && cd my-fleet && make install image up', 'qscale init . --name billing'],
};

export function examplesText(commandName: string): string | undefined {
  const examples = HELP_EXAMPLES[commandName];
  return examples ? `\nExamples:\n${examples.map((example) => `  ${example}`).join('\n')}\n` : undefined;
}
