// The four one-hour trace shapes of the autoscaler issue, generated deterministically from a seed:
//   node examples/traces/generate.mjs        rewrites steady-noisy.csv, diurnal.csv, spikes.csv, steps.csv here
// bench/autoscale-traces.ts also calls these functions with other seeds and shifted shapes, as
// traces nobody tuned against. Lines are "seconds,tasks_per_second"; the last line marks the end.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HOUR_S = 3600;

/** A small seeded PRNG (mulberry32): the same seed, the same trace, on every machine. */
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round1 = (value) => Math.round(value * 10) / 10;

/** `mean` tasks/s, each `holdS` seconds a new uniform draw within ±`noise` of it. */
export function steadyNoisy({ seed = 1, mean = 56, noise = 0.3, holdS = 1, durationS = HOUR_S } = {}) {
  const next = random(seed);
  const points = [];
  for (let t = 0; t < durationS; t += holdS) points.push([t, round1(mean * (1 + noise * (2 * next() - 1)))]);
  return [...points, [durationS, 0]];
}

/** One day squeezed into the trace: low at the start and end, high in the middle (a cosine), optional noise. */
export function diurnal({ seed = 2, low = 5, high = 70, noise = 0, stepS = 5, phaseS = 0, durationS = HOUR_S } = {}) {
  const next = random(seed);
  const points = [];
  for (let t = 0; t < durationS; t += stepS) {
    const base = low + ((high - low) / 2) * (1 - Math.cos((2 * Math.PI * (t + phaseS)) / durationS));
    points.push([t, round1(Math.max(0, base * (1 + noise * (2 * next() - 1))))]);
  }
  return [...points, [durationS, 0]];
}

/** `base` tasks/s with spikes to `peak` lasting `spikeS`, starting at the given seconds. */
export function spikes({ base = 10, peak = 80, spikeS = 90, startsS = [420, 1260, 2160, 3000], durationS = HOUR_S } = {}) {
  const points = [[0, base]];
  for (const start of startsS) points.push([start, peak], [start + spikeS, base]);
  return [...points, [durationS, 0]];
}

/** Levels held `holdS` each, in order. */
export function steps({ levels = [20, 50, 30, 70, 10], holdS = 720, durationS = HOUR_S } = {}) {
  return [...levels.map((level, index) => [index * holdS, level]), [durationS, 0]];
}

/** The trace with a new uniform draw within ±`noise` of its rate every second. */
export function withNoise(points, seed, noise) {
  const next = random(seed);
  const end = points[points.length - 1][0];
  const noisy = [];
  for (let t = 0, index = 0; t < end; t++) {
    while (index + 1 < points.length && points[index + 1][0] <= t) index++;
    noisy.push([t, round1(points[index][1] * (1 + noise * (2 * next() - 1)))]);
  }
  return [...noisy, [end, 0]];
}

export function toCsv(points, comment) {
  return `# ${comment}\n# seconds,tasks_per_second  (each rate holds until the next line; the last line marks the end)\ntime_s,tasks_per_s\n${points.map(([t, rate]) => `${t},${rate}`).join('\n')}\n`;
}

/** The shipped traces: name, file, points, description. */
export function shippedTraces() {
  return [
    { name: 'steady ±30 %', file: 'steady-noisy.csv', points: steadyNoisy(), about: 'steady 56 tasks/s, a new uniform draw within ±30 % every second (seed 1), 1 h' },
    { name: 'diurnal 5→70', file: 'diurnal.csv', points: diurnal(), about: 'diurnal: 5 tasks/s rising as a cosine to 70 at half an hour and back, 5 s steps, 1 h' },
    { name: 'spikes 10→80', file: 'spikes.csv', points: spikes(), about: '10 tasks/s with four 90 s spikes to 80 (at 7, 21, 36 and 50 min), 1 h' },
    { name: 'steps 12 min', file: 'steps.csv', points: steps(), about: 'step levels 20, 50, 30, 70, 10 tasks/s, each held 12 min, 1 h' },
  ];
}

// Only when run itself (bench/autoscale-traces.ts bundles this file and must not write anything).
if (process.argv[1] && path.basename(process.argv[1]) === 'generate.mjs') {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  for (const trace of shippedTraces()) {
    writeFileSync(path.join(dir, trace.file), toCsv(trace.points, `${trace.about}. Written by generate.mjs.`));
    console.log(`wrote ${path.join('examples/traces', trace.file)} (${trace.points.length} lines)`);
  }
}
