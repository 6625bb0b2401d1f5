// Bundles the CLI (dist/qscale.mjs plus a chunk per command): a few modules to load instead of
// hundreds halves start-up time, which every command pays, and each command loads only its own
// code. Type checking is tsc's job (npm run build).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { qscale: 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
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
