// Child process for the contract test "a process killed mid-job leaves the job to be retried".
// Started as `node --import tsx queue.kill-fixture.ts`; configuration comes from the environment:
//   FB_KILL_ADAPTER=sqlite|postgres, FB_KILL_SQLITE_FILE | FB_KILL_PG_URL + FB_KILL_PG_SCHEMA,
//   FB_KILL_LOCK_TIMEOUT_MS.
// It starts a queue with a `slow` job that announces itself on stdout ("STARTED <jobId> <attempt>") and then
// never finishes, so the parent can SIGKILL it mid-job.
import { openDatabase } from '../db/index.js';
import type { JobQueue } from './types.js';

const adapter = process.env.FB_KILL_ADAPTER;
const lockTimeoutMs = Number(required('FB_KILL_LOCK_TIMEOUT_MS'));
let queue: JobQueue;
if (adapter === 'sqlite') {
  const { createSqliteJobQueue } = await import('./sqlite-queue.js');
  const handle = openDatabase({ kind: 'sqlite', file: required('FB_KILL_SQLITE_FILE') });
  queue = createSqliteJobQueue({ db: handle.db, pollIntervalMs: 20, lockTimeoutMs, releaseRunningOnStart: false });
} else if (adapter === 'postgres') {
  // Imported lazily so that the SQLite run does not load graphile-worker.
  const { createPostgresJobQueue } = await import('./postgres-queue.js');
  const handle = openDatabase({ kind: 'postgres', url: required('FB_KILL_PG_URL') });
  queue = createPostgresJobQueue({
    pool: handle.pgPool!,
    schema: required('FB_KILL_PG_SCHEMA'),
    pollIntervalMs: 50,
    lockTimeoutMs,
  });
} else {
  throw new Error(`FB_KILL_ADAPTER must be sqlite or postgres, not ${adapter}`);
}

queue.define<{ n: number }>('slow', async (_payload, ctx) => {
  process.stdout.write(`STARTED ${ctx.jobId} ${ctx.attempt}\n`);
  await new Promise(() => {}); // never settles: the parent kills us here
});
await queue.start();
process.stdout.write('READY\n');

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}
