// Times `qscale scale <svc> 10` from 0 and back to 1, beside `docker-compose up -d --scale` on the
// same service and a minimal dockerode script (bench/raw-dockerode-scale.mjs), all in one run.
// Each is a fresh process, as a user runs it. Prints medians and ratios; no pass/fail.
// Targets (issue 2): qscale ≤ 1.15× the raw script and ≤ 0.8× docker-compose, both directions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const N = 10;
const project = `bench-scale-${process.pid}`;
const dir = mkdtempSync(path.join(tmpdir(), 'qscale-bench-'));
writeFileSync(
  path.join(dir, 'docker-compose.yml'),
  `version: "2.4"
services:
  sleeper:
    image: qscale/node-base:local
    network_mode: host
    init: true
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
`,
);
writeFileSync(path.join(dir, 'test-config.yml'), `project:\n  name: ${project}\nworkers:\n  sleeper:\n    queue: q\n    min_replicas: 0\n    max_replicas: ${N}\n`);

function timed(file, args, cwd = dir) {
  const started = process.hrtime.bigint();
  execFileSync(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function removeAll() {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).toString().trim();
  if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')]);
}

const tools = {
  raw: {
    up: () => timed('node', [path.join(root, 'bench/raw-dockerode-scale.mjs'), 'up', project, String(N)], root),
    down: () => timed('node', [path.join(root, 'bench/raw-dockerode-scale.mjs'), 'down', project, '1'], root),
  },
  qscale: {
    up: () => timed('node', [path.join(root, 'bin/qscale.js'), 'scale', 'sleeper', String(N), '-q']),
    down: () => timed('node', [path.join(root, 'bin/qscale.js'), 'scale', 'sleeper', '1', '-q']),
  },
  'docker-compose': {
    up: () => timed('docker-compose', ['-p', project, 'up', '-d', '--scale', `sleeper=${N}`, '--no-recreate', 'sleeper']),
    down: () => timed('docker-compose', ['-p', project, 'up', '-d', '--scale', 'sleeper=1', '--no-recreate', 'sleeper']),
  },
};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = {};
try {
  removeAll();
  for (let round = 0; round < ROUNDS; round++) {
    // Interleave the tools so drift on the machine affects all alike.
    for (const [name, tool] of Object.entries(tools)) {
      results[name] ??= { up: [], down: [] };
      results[name].up.push(tool.up());
      results[name].down.push(tool.down());
      removeAll();
    }
  }
} finally {
  removeAll();
}

console.log(`scale 0 → ${N} and ${N} → 1, median of ${ROUNDS} rounds (ms)`);
console.log('tool              up      down');
for (const [name, times] of Object.entries(results)) {
  console.log(`${name.padEnd(16)} ${median(times.up).toFixed(0).padStart(5)}  ${median(times.down).toFixed(0).padStart(8)}`);
}
const ratio = (a, b, direction) => median(results[a][direction]) / median(results[b][direction]);
for (const direction of ['up', 'down']) {
  console.log(
    `${direction.padEnd(4)} qscale/raw = ${ratio('qscale', 'raw', direction).toFixed(2)}× (target ≤ 1.15)   qscale/docker-compose = ${ratio('qscale', 'docker-compose', direction).toFixed(2)}× (target ≤ 0.80)`,
  );
}
