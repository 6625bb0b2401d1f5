// Bundles the CLI (dist/qscale.mjs plus a chunk per command): a few modules to load instead of
// hundreds halves start-up time, which every command pays, and each command loads only its own
// code. Type checking is tsc's job (npm run build). The package then needs no run-time dependency.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });

// ssh2, docker-modem's transport for DOCKER_HOST=ssh://…, is bundled on its own and loaded on
// first use: requiring it at start-up costs ~130 ms on every command. Its native add-ons are
// optional (it falls back to JavaScript), so they stay out.
const ssh2 = await build({
  entryPoints: ['node_modules/ssh2/lib/index.js'],
  outfile: 'dist/vendor/ssh2.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  external: ['cpu-features', '*.node'],
  metafile: true,
  logLevel: 'error',
});

/** docker-modem's `require('ssh2')`, answered by a stand-in that loads dist/vendor/ssh2.cjs when a Client is made. */
const lazySsh2 = {
  name: 'lazy-ssh2',
  setup(builder) {
    builder.onResolve({ filter: /^ssh2$/ }, () => ({ path: 'ssh2', namespace: 'lazy-ssh2' }));
    builder.onLoad({ filter: /.*/, namespace: 'lazy-ssh2' }, () => ({
      loader: 'js',
      // `require` is the banner's, relative to the output file: dist/ or dist/chunks/.
      contents: `
        function loadSsh2() {
          for (const candidate of ['./vendor/ssh2.cjs', '../vendor/ssh2.cjs']) {
            try { return require(candidate); } catch (error) { if (error.code !== 'MODULE_NOT_FOUND') throw error; }
          }
          throw new Error('dist/vendor/ssh2.cjs is missing: reinstall qscale');
        }
        module.exports = { Client: function Client() { return new (loadSsh2().Client)(); } };
      `,
    }));
  },
};

const REQUIRE_BANNER = "import { createRequire as __qscaleCreateRequire } from 'node:module'; const require = __qscaleCreateRequire(import.meta.url);";

const cli = await build({
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
  plugins: [lazySsh2],
  metafile: true,
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
});

// The bundles hold other packages' code: their licences travel with it.
const packages = new Set();
for (const input of [...Object.keys(ssh2.metafile.inputs), ...Object.keys(cli.metafile.inputs)]) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(match[1]);
}
const notices = [...packages].sort().map((dir) => {
  const { name, version, license } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = existsSync(dir) ? readdirSync(dir).find((entry) => /^(licen[cs]e|copying)(\.|$)/i.test(entry)) : undefined;
  const text = file ? readFileSync(path.join(dir, file), 'utf8').trim() : `License: ${license ?? 'see the package'}`;
  return `${name}@${version} (${license ?? 'unknown'})\n\n${text}\n`;
});
writeFileSync('dist/THIRD-PARTY-LICENSES.txt', `qscale's dist/ bundles code of these packages; their licences follow.\n\n${notices.join(`\n${'-'.repeat(72)}\n\n`)}`);

// A JSON Schema of test-config.yml, made from the very zod schema qscale validates it with, so an
// editor can check the file as it is typed (`qscale init` points the YAML language server at it).
mkdirSync('build', { recursive: true });
await build({
  stdin: {
    contents: `import { z } from 'zod';
      import { configSchema } from './src/core/config/qscale-config.ts';
      export const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });`,
    resolveDir: '.',
    loader: 'ts',
  },
  outfile: 'build/config-schema.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
});
const { schema } = await import(pathToFileURL(path.resolve('build/config-schema.mjs')).href);
writeFileSync('dist/test-config.schema.json', `${JSON.stringify({ $schema: schema.$schema, title: 'qscale test-config.yml', ...schema }, null, 2)}\n`);
