// Benchmark: a three-hop catalog expression (incident → 5 services → escalation policy → teams) over the `huge`
// PagerDuty account (20,000 users, 1,000 teams, 5,000 services, 2,000 escalation policies).
//
// The catalog is the emulator's `huge` seed (emulators/pagerduty/seed.ts, the data a sync of the huge account
// brings), written straight into the catalog tables with the PagerDuty types' real attribute schemas and
// reference rows: a full sync of the huge account takes minutes on a shared machine and is measured by
// bench:pagerduty-sync; what this measures starts where a sync ends.
//
// Then: an "Affected services" catalog custom field, an incident naming 5 services, and for each expression:
// the context load (what contextFor reads from the database once per incident change) and N evaluations of the
// compiled expression on it. Prints evaluations/s, p50/p99 against the target (p99 < 5 ms).
//
//   npm run bench:expressions [-- --n 20000] [-- --loads 50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFirebreak } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { PD_TYPES } from '../src/integrations/pagerduty/catalog-source.js';
import { createLogger } from '../src/platform/logger.js';
import { newId, nowIso } from '../src/platform/ids.js';
import { generateSeed } from '../emulators/pagerduty/seed.js';

import { report, shortRun } from './report.js';

// BENCH_SHORT=1 (npm run bench): the same catalog, fewer evaluations and loads.
const { values } = parseArgs({ options: { n: { type: 'string', default: shortRun ? '2000' : '20000' }, loads: { type: 'string', default: shortRun ? '10' : '50' } } });
const N = Number(values.n);
const LOADS = Number(values.loads);
const TARGET_P99_MS = 5;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-bench-expr-'));
  const fb = await buildFirebreak(loadConfig({}, { dataDir }), createLogger('warn', process.stderr));
  try {
    const t0 = performance.now();
    const seed = generateSeed('huge');
    const db = fb.database.db;
    const typeIds: Record<string, string> = {};
    for (const def of PD_TYPES) {
      const t = await fb.catalog.service.ensureIntegrationType({ typeName: def.typeName, name: def.name, description: def.description, source: 'pagerduty', attributes: def.attributes, syncIntervalMs: def.defaultIntervalMs });
      typeIds[def.typeName] = t.id;
    }
    const now = nowIso();
    const entryId = new Map<string, string>(); // PagerDuty id → entry id
    for (const x of [...seed.users, ...seed.teams, ...seed.services, ...seed.escalation_policies, ...seed.priorities]) entryId.set(x.id, newId());
    const rows: { id: string; type_id: string; external_id: string; name: string; name_lower: string; aliases: string; attributes: string; external_url: string | null; archived_at: null; created_at: string; updated_at: string }[] = [];
    const refs: { from_entry_id: string; attribute_id: string; to_entry_id: string }[] = [];
    const add = (type: string, pdId: string, name: string, attributes: Record<string, unknown>) => {
      const id = entryId.get(pdId)!;
      rows.push({ id, type_id: typeIds[type]!, external_id: pdId, name, name_lower: name.toLowerCase(), aliases: '[]', attributes: JSON.stringify(attributes), external_url: `https://example.pagerduty.com/${pdId}`, archived_at: null, created_at: now, updated_at: now });
      for (const [attr, v] of Object.entries(attributes)) {
        const def = PD_TYPES.find((d) => d.typeName === type)!.attributes.find((a) => a.id === attr)!;
        if (def.type !== 'reference') continue;
        for (const to of Array.isArray(v) ? v : v ? [v] : []) refs.push({ from_entry_id: id, attribute_id: attr, to_entry_id: String(to) });
      }
    };
    const ids = (pdIds: string[]) => pdIds.map((p) => entryId.get(p)).filter((x): x is string => !!x);
    for (const u of seed.users) add('PagerDutyUser', u.id, u.name, { name: u.name, email: u.email, role: u.role, job_title: u.job_title, time_zone: u.time_zone });
    for (const t of seed.teams) add('PagerDutyTeam', t.id, t.name, { name: t.name, description: t.description, members: ids(t.members.map((m) => m.user_id)) });
    for (const p of seed.escalation_policies) add('PagerDutyEscalationPolicy', p.id, p.name, { name: p.name, description: p.description, teams: ids(p.team_ids) });
    for (const s of seed.services) add('PagerDutyService', s.id, s.name, { name: s.name, description: s.description, status: s.status, escalation_policy: entryId.get(s.escalation_policy_id) ?? null, teams: ids(s.team_ids) });
    for (const p of seed.priorities) add('PagerDutyPriority', p.id, p.name, { name: p.name, description: p.description });
    for (let i = 0; i < rows.length; i += 500) await db.insertInto('catalog_entries').values(rows.slice(i, i + 500)).execute();
    for (let i = 0; i < refs.length; i += 1000) await db.insertInto('catalog_entry_refs').values(refs.slice(i, i + 1000)).execute();
    const counts = Object.fromEntries(PD_TYPES.map((d) => [d.typeName, rows.filter((r) => r.type_id === typeIds[d.typeName]).length]));
    console.log(`catalog written in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}, ${refs.length} reference rows`);

    await fb.customFields.service.createField({ key: 'affected_services', name: 'Affected services', type: 'catalog', catalogType: 'PagerDutyService', multiple: true }, { kind: 'system' });
    // Five services with a policy, spread over the account.
    const five = seed.services.filter((s) => s.escalation_policy_id && s.team_ids.length).filter((_, i) => i % 900 === 0).slice(0, 5);
    const { incident } = await fb.incidents.createIncident({ name: 'Checkout errors', customFieldValues: { affected_services: five.map((s) => entryId.get(s.id)) } }, { kind: 'system' });
    const someTeam = seed.teams.find((t) => t.id === seed.escalation_policies.find((p) => p.id === five[2]!.escalation_policy_id)!.team_ids[0]);

    const expressions = [
      { label: 'value: teams of the policies of the affected services', src: 'incident.custom_fields.affected_services.map(s, s.escalation_policy.teams.map(t, t.name))' },
      { label: 'condition: an affected service is paged through a given team', src: `incident.custom_fields.affected_services.exists(s, s.escalation_policy.teams.exists(t, t.name == ${JSON.stringify(someTeam?.name ?? 'none')}))` },
    ];

    // Context load: what happens once per incident change.
    const loads: number[] = [];
    let ctx = await fb.expressions.contextFor(incident.id);
    for (let i = 0; i < LOADS; i++) {
      const a = performance.now();
      ctx = await fb.expressions.contextFor(incident.id);
      loads.push(performance.now() - a);
    }
    console.log(`\ncontext load per incident change (${LOADS} loads): p50 ${ms(pct(loads, 50))}, p99 ${ms(pct(loads, 99))}; ${ctx.stats.entries} entries over ${ctx.stats.depth} hops, ${ctx.stats.queries} queries, truncated: ${ctx.stats.truncated}`);

    for (const e of expressions) {
      const compiled = await fb.expressions.compile(e.src);
      const first = fb.expressions.evaluate(compiled, ctx);
      for (let i = 0; i < 2000; i++) fb.expressions.evaluate(compiled, ctx); // warm-up
      const times = new Array<number>(N);
      const start = performance.now();
      for (let i = 0; i < N; i++) {
        const a = performance.now();
        fb.expressions.evaluate(compiled, ctx);
        times[i] = performance.now() - a;
      }
      const total = (performance.now() - start) / 1000;
      const p99 = pct(times, 99);
      console.log(`\n${e.label}\n  ${e.src}\n  → ${JSON.stringify(first.value).slice(0, 160)} (${first.visited.length} entries visited)`);
      console.log(`  ${N} evaluations: ${Math.round(N / total)} evaluations/s, p50 ${ms(pct(times, 50))}, p99 ${ms(p99)}, max ${ms(Math.max(...times))}`);
      report({ bench: 'expressions', figure: `evaluation p99, ${e.label}`, value: p99, unit: 'ms', target: `< ${TARGET_P99_MS} ms`, met: p99 < TARGET_P99_MS });
    }
  } finally {
    await fb.database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
