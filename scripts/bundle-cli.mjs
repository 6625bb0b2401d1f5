// Bundles the CLI into one file (dist/qscale.mjs): one module to load instead of hundreds halves
// start-up time, which every command pays. Type checking is tsc's job (npm run build).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/qscale.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  minify: true,
  // Native optional add-ons of ssh2 stay outside; ssh2 itself is loaded only for ssh:// hosts.
  external: ['cpu-features', 'ssh2'],
  alias: { ssh2: './src/adapters/docker/ssh2-lazy.cjs' },
  banner: { js: "import { createRequire as __qscaleCreateRequire } from 'node:module'; const require = __qscaleCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
