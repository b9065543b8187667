// Reads a V8 .cpuprofile (node --cpu-prof) and says where CPU time went inside a time window: busy vs idle,
// then busy time grouped by the innermost Firebreak source function on the stack (src/...), or, when no
// Firebreak code is on the stack, by package / Node internals / V8 (GC, program). Times in the window are
// CLOCK_MONOTONIC microseconds (process.hrtime), which V8's profile timestamps also use, so a window measured
// in another process (the benchmark's relay) lines up with the profile.
// Used by bench/slack-declare.ts and bench/escalate.ts --profile; standalone: tsx bench/cpuprofile-summary.ts FILE [fromUs toUs]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const root = resolve(import.meta.dirname, '..');

export interface WindowSummary {
  windowMs: number;
  busyMs: number;
  idleMs: number;
  groups: { name: string; ms: number }[];
}

export function summarize(file: string, fromUs = -Infinity, toUs = Infinity): WindowSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = new Map<number, string>();
  const labelOf = (id: number): string => {
    const hit = label.get(id);
    if (hit) return hit;
    const leaf = byId.get(id)!.callFrame;
    let name: string | null = null;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const url = f.url.replace(/^file:\/\//, '');
      if (url.startsWith(`${root}/src/`)) {
        name = `${url.slice(root.length + 1)}:${f.functionName || '(anonymous)'}`;
        break;
      }
    }
    if (!name) {
      const url = leaf.url.replace(/^file:\/\//, '');
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
      if (pkg) name = `[${pkg}] ${leaf.functionName || '(anonymous)'}`;
      else if (url.startsWith('node:')) name = `[node] ${url.slice(5)} ${leaf.functionName}`;
      else name = leaf.functionName ? `[v8] ${leaf.functionName}` : `[other] ${url}`;
    }
    label.set(id, name);
    return name;
  };
  const totals = new Map<string, number>();
  let t = p.startTime;
  let idle = 0;
  let busy = 0;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i]!;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const name = labelOf(p.samples[i]!);
    // The sample's duration is the gap to the next sample.
    const dur = (p.timeDeltas[i + 1] ?? 0) / 1000;
    if (name === '[v8] (idle)') idle += dur;
    else {
      busy += dur;
      totals.set(name, (totals.get(name) ?? 0) + dur);
    }
  }
  const groups = [...totals].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { windowMs: Number.isFinite(first) ? (last - first) / 1000 : 0, busyMs: busy, idleMs: idle, groups };
}

/** `per`: how many operations the window holds (declarations, escalations), to show each group's share of one. */
export function printSummary(title: string, s: WindowSummary, top = 25, per = 1, unit = 'declaration'): void {
  console.log(`  ${title}: window ${Math.round(s.windowMs)} ms, Firebreak busy ${Math.round(s.busyMs)} ms, idle ${Math.round(s.idleMs)} ms${per > 1 ? `  (per ${unit}: busy ${(s.busyMs / per).toFixed(2)} ms)` : ''}`);
  for (const g of s.groups.slice(0, top)) console.log(`    ${g.ms.toFixed(1).padStart(7)} ms  ${per > 1 ? `${(g.ms / per).toFixed(2).padStart(5)} each  ` : ''}${g.name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, from, to] = process.argv.slice(2);
  printSummary(file!, summarize(file!, from ? Number(from) : undefined, to ? Number(to) : undefined), 40);
}
