import { readFileSync } from 'node:fs';

// CPU time from /proc (Linux, same host), in ms: steadier than wall time on a shared machine. Clock ticks are
// USER_HZ = 100, so each figure is good to 10 ms per process.

const TICK_MS = 1000 / 100;

/** CPU time (user + system) a process has used, in ms; null when it is gone or not on this host. */
export function processCpuMs(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/**
 * CPU time of PostgreSQL's processes on this host, by pid: the backends serving `url`'s database, or with
 * `everyProcess` every process pg_stat_activity lists (the WAL writer, checkpointer and other background work too).
 */
export async function postgresCpu(url: string, opts: { everyProcess?: boolean } = {}): Promise<Map<number, number>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      opts.everyProcess ? 'select pid from pg_stat_activity where pid <> pg_backend_pid()' : 'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      const ms = processCpuMs(pid);
      if (ms !== null) out.set(pid, ms);
    }
    return out;
  } finally {
    await client.end();
  }
}

/** CPU used between two readings of postgresCpu (processes that ended in between count from their last reading). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  return [...after].reduce((sum, [pid, cpu]) => sum + cpu - (before.get(pid) ?? 0), 0);
}
