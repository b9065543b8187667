#!/usr/bin/env node
// `firebreak` CLI. Runs the compiled server (dist/main.js, made by `npm run build` or `npm start`) in this process
// when it is current with src/; otherwise runs src/main.ts through tsx, saying so on stderr: the same program, but
// it compiles TypeScript at every start (seconds more, and about 40 MB more memory). A copy without src/ (only dist/
// shipped) always runs dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkStamp, root, serverOutDir } from '../scripts/build-lib.mjs';

const compiled = resolve(serverOutDir, 'main.js');
const state = existsSync(resolve(root, 'src')) ? checkStamp('server') : { current: existsSync(compiled), reason: 'dist/main.js is missing' };

if (state.current) {
  const { cli } = await import(pathToFileURL(compiled).href);
  const code = await cli(process.argv.slice(2));
  if (code >= 0) process.exit(code);
} else {
  process.stderr.write(`firebreak: the compiled server in dist/ is not current (${state.reason}); running src/main.ts through tsx instead. \`npm run build\` compiles it.\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(root, 'src/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
