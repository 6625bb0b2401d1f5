// Prints vitest's JSON report as one plain closing line, "tests: N passed, N failed, N skipped",
// which CI reads; exits non-zero when a test or a test file failed, or when no test ran.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || (report.numFailedTestSuites ?? 0) > 0 || passed === 0 ? 1 : 0);
