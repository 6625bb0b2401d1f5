#!/usr/bin/env node
// The CLI runs from one bundled file (npm run build makes it): it starts twice as fast.
import { main } from '../dist/qscale.mjs';

main(process.argv).then((code) => {
  process.exitCode = code;
});
