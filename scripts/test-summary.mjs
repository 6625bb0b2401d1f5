// Prints vitest's JSON reports as one plain closing line, "tests: N passed, N failed, N skipped",
// which CI reads; exits non-zero when a test or a test file failed, a report is missing (its run
// crashed), or no test ran.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let broken = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`tests: no report ${file}: that run did not finish`);
    broken++;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  broken += report.numFailedTestSuites ?? 0;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || broken > 0 || passed === 0 ? 1 : 0);
