#!/usr/bin/env node
// The CLI runs from one bundled file (npm run build makes it): it starts twice as fast.
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/qscale.mjs', import.meta.url);
let cli;
try {
  cli = await import(bundle.href);
} catch (error) {
  // Only the bundle itself missing; a module missing inside it is a different fault.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(`'${fileURLToPath(bundle)}'`)) throw error;
  process.stderr.write('error: qscale is not built (dist/qscale.mjs is missing) — run `npm run build` in a clone, or reinstall the package\n');
  process.exit(1);
}

cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
