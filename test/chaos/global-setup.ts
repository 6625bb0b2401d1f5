import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import checkInfrastructure, { portAnswers } from '../integration/global-setup.js';
import { FAULT_TABLE_FILE, type FaultRow } from './support/chaos-broker.js';

/**
 * The chaos suite needs what the integration tests need, plus its own broker node on 5673
 * (`bash scripts/chaos-broker.sh start`, which `make chaos` runs). Missing: fail loudly, never skip.
 */
export default async function setup(): Promise<() => void> {
  await checkInfrastructure();
  if (!(await portAnswers(5673))) throw new Error('the chaos suite needs its own broker on 127.0.0.1:5673 and none answers; run `bash scripts/chaos-broker.sh start` (make chaos does)');
  mkdirSync('build', { recursive: true });
  writeFileSync(FAULT_TABLE_FILE, '');
  return printFaultTable;
}

function printFaultTable(): void {
  const rows = readFileSync(FAULT_TABLE_FILE, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FaultRow);
  if (rows.length === 0) return;
  const header = ['fault', 'sent', 'lost', 'unconfirmed', 'recovered', 'duplicates', 'recovery', 'note'];
  const cells = rows.map((row) => [
    row.fault,
    String(row.sent),
    String(row.lost),
    String(row.unconfirmed),
    String(row.recovered),
    String(row.duplicates),
    row.recoverySeconds === null ? '-' : `${row.recoverySeconds.toFixed(1)} s`,
    row.note ?? '',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  process.stdout.write(`\nchaos: faults under load\n${line(header)}\n${cells.map(line).join('\n')}\n\n`);
}
