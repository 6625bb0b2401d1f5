#!/usr/bin/env bash
# `make test`: the typecheck, the unit and integration tests, then the fault tests (`make chaos`)
# in their own serial step; one closing line over both: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
rm -f build/vitest-report.json build/vitest-chaos.json
npm run --silent typecheck || exit 1
npx vitest run --project unit --project integration --reporter=default --reporter=json --outputFile.json=build/vitest-report.json
bash scripts/chaos-broker.sh start || exit 1
npx vitest run --project chaos --reporter=default --reporter=json --outputFile.json=build/vitest-chaos.json
node scripts/test-summary.mjs build/vitest-report.json build/vitest-chaos.json
