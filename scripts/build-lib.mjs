// The production build: the server compiled to JavaScript in dist/ (esbuild) and the web app in web/dist (Vite),
// each rebuilt only when one of its inputs changed. Plain JavaScript so that it runs without a TypeScript compiler;
// used by scripts/build.mjs (`npm run build`, `npm start`) and bin/firebreak.mjs (is dist/ current?).
//
// A stamp (dist/.stamps/<target>.json) records, after a successful build, the SHA-256 of every input the build read
// (the files esbuild bundled or Vite loaded, outside node_modules, plus the few files that shape the build) and of
// every output file. A target is current when every recorded input and output still has its recorded hash: content,
// not modification times, so a `git checkout` that touches files without changing them rebuilds nothing. Files that
// are not recorded cannot matter: a new source file only takes part once a recorded one imports it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';

export const root = resolve(import.meta.dirname, '..');

/** Where the compiled server goes (`node dist/main.js start`) and where stamps live. */
export const serverOutDir = join(root, 'dist');
const webOutDir = join(root, 'web', 'dist');

function stampFile(outDir, target) {
  return join(outDir, '.stamps', `${target}.json`);
}

function hashFile(file) {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null; // missing: never equal to a recorded hash
  }
}

function hashAll(files, base) {
  const out = {};
  for (const f of [...new Set(files)].sort()) out[relative(base, f).split(sep).join('/')] = hashFile(f);
  return out;
}

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/**
 * Whether `target` ('server' or 'web') is current: its stamp exists and every input and output it records has the
 * same content. Returns the first difference found, in words, when it is not.
 */
export function checkStamp(target, { outDir = serverOutDir, base = root } = {}) {
  const file = stampFile(outDir, target);
  if (!existsSync(file)) return { current: false, reason: 'never built' };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { current: false, reason: 'its build stamp is unreadable' };
  }
  if (stamp.version !== STAMP_VERSION) return { current: false, reason: 'built by another version of the build script' };
  for (const [path, hash] of Object.entries(stamp.inputs ?? {})) {
    if (hashFile(resolve(base, path)) !== hash) return { current: false, reason: `${path} changed` };
  }
  for (const [path, hash] of Object.entries(stamp.outputs ?? {})) {
    if (hashFile(resolve(base, path)) !== hash) return { current: false, reason: `output ${path} is missing or was changed` };
  }
  return { current: true, reason: 'up to date' };
}

const STAMP_VERSION = 1;

function writeStamp(target, outDir, inputs, outputs) {
  const file = stampFile(outDir, target);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ version: STAMP_VERSION, builtAt: new Date().toISOString(), inputs: hashAll(inputs, root), outputs: hashAll(outputs, root) }, null, 1)}\n`);
}

/** Files that shape both builds besides the sources themselves. */
const sharedInputs = ['tsconfig.json', 'package-lock.json', 'scripts/build-lib.mjs'].map((f) => join(root, f));

/** esbuild is a dependency of its own (pinned in package.json; tsx and Vite use the same version). */
async function loadEsbuild() {
  return import('esbuild');
}

/**
 * Compiles src/main.ts and everything it imports (the migrations included: src/migrations.ts imports every module's
 * list statically) into one ES module in `outDir` (packages stay imports of node_modules). Types are not checked
 * here; `npm run typecheck` does that. `outDir` must sit one level below the repository root, like src/, so that
 * paths the code makes from its own location (the web app's `../web/dist` in app.ts) still point to the same place.
 */
export async function buildServer({ outDir = serverOutDir } = {}) {
  // Old chunks would otherwise pile up (the stamps stay: the web app's is there too).
  if (existsSync(outDir)) for (const name of readdirSync(outDir)) if (name !== '.stamps') rmSync(join(outDir, name), { recursive: true, force: true });
  const result = await compileForNode(['src/main.ts'], outDir);
  const inputs = Object.keys(result.metafile.inputs).map((f) => resolve(root, f)).filter((f) => !f.includes(`${sep}node_modules${sep}`));
  const outputs = Object.keys(result.metafile.outputs).map((f) => resolve(root, f));
  writeStamp('server', outDir, [...inputs, ...sharedInputs], outputs);
  return { inputs: inputs.length, outputs: outputs.length };
}

/**
 * Compiles TypeScript entry points as the production server is compiled (one ES module each, our own dynamic
 * imports as chunks, packages left as imports of node_modules). Benchmarks use it to measure what production runs.
 */
export async function compileForNode(entryPoints, outDir) {
  const esbuild = await loadEsbuild();
  return esbuild.build({
    absWorkingDir: root,
    entryPoints,
    outdir: outDir,
    bundle: true,
    splitting: true, // dynamic import() of our own modules stays lazy (one chunk each)
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    tsconfig: join(root, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });
}

/** Builds the web app with Vite (web/vite.config.ts), recording every file Vite loaded outside node_modules. */
export async function buildWeb({ stampDir = serverOutDir } = {}) {
  const { build } = await import('vite');
  const loaded = new Set();
  await build({
    configFile: join(root, 'web', 'vite.config.ts'),
    logLevel: 'warn',
    plugins: [
      {
        name: 'firebreak-build-inputs',
        generateBundle() {
          for (const id of this.getModuleIds()) loaded.add(id.split('?')[0]);
        },
      },
    ],
  });
  const inputs = [...loaded].filter((f) => f.startsWith(root) && !f.includes(`${sep}node_modules${sep}`) && existsSync(f));
  const extra = ['web/vite.config.ts', 'web/index.html'].map((f) => join(root, f));
  writeStamp('web', stampDir, [...inputs, ...extra, ...sharedInputs], listFiles(webOutDir));
  return { inputs: inputs.length };
}
