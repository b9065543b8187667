// Benchmarks run Firebreak as its own process (`firebreak start`), so its CPU and memory are measured alone: the
// compiled server, as production runs it (`npm run build`'s dist/, rebuilt first when src/ changed), or with
// BENCH_TSX=1 src/main.ts through the development loader (tsx transforms every module at load and wraps functions
// in name helpers: in one bench:slack profile those helpers alone were 6% of Firebreak's CPU during the submissions).
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

export interface FirebreakProcess {
  child: ChildProcess;
  baseUrl: string;
  /** The first owner's one-time sign-in link (a fresh data directory prints one). */
  loginUrl: string;
}

/**
 * Starts Firebreak with `env` on a free port and resolves once it prints its URL and the first owner's sign-in
 * link. BENCH_SERVER_NODE_ARGS passes extra node flags (e.g. --cpu-prof) to profile the server; `opts.nodeArgs`
 * adds flags from the benchmark itself (after those), and `opts.preload` modules loaded before Firebreak's own.
 * For PostgreSQL pass DATABASE_URL (a fresh database) and FIREBREAK_MASTER_KEY in `env`.
 */
export async function startFirebreakProcess(env: Record<string, string>, opts: { nodeArgs?: string[]; preload?: string[] } = {}): Promise<FirebreakProcess> {
  const nodeArgs = [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...(opts.nodeArgs ?? [])];
  const preload = (opts.preload ?? []).flatMap((p) => ['--import', p]);
  const tsx = process.env.BENCH_TSX === '1';
  if (!tsx) {
    // @ts-expect-error: plain JavaScript without declarations (it runs before anything is compiled)
    const { buildServer, checkStamp } = await import('../scripts/build-lib.mjs');
    if (!(checkStamp('server') as { current: boolean }).current) await buildServer();
  }
  const program = tsx ? ['--import', 'tsx', ...preload, join(root, 'src/main.ts')] : [...preload, join(root, 'bin/firebreak.mjs')];
  const child = spawn(process.execPath, [...nodeArgs, ...program, 'start'], {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`Firebreak did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const base = /running at (\S+)/.exec(out);
      const login = /(http\S+\/auth\/login\?token=\S+)/.exec(out);
      if (base && login) {
        clearTimeout(timer);
        resolvePromise({ child, baseUrl: base[1]!, loginUrl: login[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`Firebreak exited with ${code}:\n${out}`)));
  });
}
