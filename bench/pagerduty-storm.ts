// Benchmark: a PagerDuty storm with auto-create on. 500 signed `incident.triggered` deliveries for 50 services
// within 10 s (400 distinct PagerDuty incidents, then 100 deliveries again: half the same delivery, half new
// delivery and event ids, as PagerDuty's at-least-once delivery may send). One rule opens triage incidents for
// high-urgency incidents on every service. Prints incidents created (must equal the distinct matching PagerDuty
// incidents), time from the first delivery until the last incident exists, duplicates (must be 0) and the
// webhook response time p50/p99/max.
// Run: npm run bench:pagerduty-storm [-- --db sqlite|postgres --deliveries 500 --services 50 --seconds 10]
//   (postgres: FIREBREAK_TEST_POSTGRES=1 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)
// Firebreak and the PagerDuty emulator run in this process (one event loop for server and load generator).
import { createHmac, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { setupEscalations } from '../test/escalations/helpers.js';
import { report, shortRun } from './report.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const DB = arg('db', 'sqlite') as 'sqlite' | 'postgres';
// BENCH_SHORT=1 (npm run bench): 200 deliveries for 20 services in 4 s.
const DELIVERIES = Number(arg('deliveries', shortRun ? '200' : '500'));
const SERVICES = Number(arg('services', shortRun ? '20' : '50'));
const SECONDS = Number(arg('seconds', shortRun ? '4' : '10'));
const DISTINCT = Math.round(DELIVERIES * 0.8);
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function main() {
  if (DB === 'postgres' && !process.env.TEST_DATABASE_URL) throw new Error('set TEST_DATABASE_URL (and FIREBREAK_TEST_POSTGRES=1) for --db postgres');
  console.log(`PagerDuty storm on ${DB}: ${DELIVERIES} incident.triggered deliveries (${DISTINCT} distinct) for ${SERVICES} services in ${SECONDS} s`);
  const s = await setupEscalations(DB, { seed: 'medium' });
  const { fb, pd, owner } = s;
  try {
    const secret = `storm-${randomUUID()}`;
    const put = await owner.request('PUT', '/api/v1/integrations/pagerduty/webhook_secret', { secret });
    if (put.status !== 200) throw new Error(`webhook secret: ${put.status}`);
    const rule = await owner.post('/api/v1/integrations/pagerduty/auto_create_rules', { name: 'High urgency anywhere', urgencies: ['high'] });
    if (rule.status !== 201) throw new Error(`rule: ${rule.status} ${JSON.stringify(rule.body)}`);

    // The PagerDuty incidents exist in PagerDuty (the emulator); the storm is their trigger webhooks.
    // Services marked incident-io-ignore never open incidents (by design): the storm uses the others, so every
    // high-urgency incident in it is one Firebreak must open.
    const services = [...pd.state.services.values()].filter((svc) => !(svc.description ?? '').includes('incident-io-ignore')).slice(0, SERVICES);
    const bodies: { deliveryId: string; body: string; pdId: string; high: boolean }[] = [];
    for (let i = 0; i < DISTINCT; i++) {
      const svc = services[i % services.length]!;
      const urgency = i % 3 === 2 ? 'low' : 'high';
      const inc = pd.admin.triggerIncident({ service_id: svc.id, title: `Storm ${i}: ${svc.name} errors`, urgency });
      const data = {
        id: inc.id, type: 'incident', number: inc.incident_number, title: inc.title, status: 'triggered', urgency: inc.urgency,
        incident_key: inc.incident_key, html_url: `https://firebreak-emulator.pagerduty.com/incidents/${inc.id}`,
        service: { id: svc.id, type: 'service_reference', summary: svc.name },
        assignees: inc.assignments.map((a) => ({ id: a.user_id, type: 'user_reference', summary: pd.state.users.get(a.user_id)?.name })),
        priority: null, teams: svc.team_ids.map((t) => ({ id: t, type: 'team_reference' })),
      };
      const body = JSON.stringify({ event: { id: randomUUID(), event_type: 'incident.triggered', resource_type: 'incident', occurred_at: inc.created_at, agent: { id: svc.id, type: 'service_reference' }, client: { name: 'Monitoring' }, data } });
      bodies.push({ deliveryId: randomUUID(), body, pdId: inc.id, high: urgency === 'high' });
    }
    for (let i = 0; bodies.length < DELIVERIES; i++) {
      const orig = bodies[(i * 7) % DISTINCT]!;
      if (i % 2 === 0) bodies.push({ ...orig }); // the same delivery again
      else {
        const env = JSON.parse(orig.body);
        env.event.id = randomUUID();
        bodies.push({ deliveryId: randomUUID(), body: JSON.stringify(env), pdId: orig.pdId, high: orig.high });
      }
    }
    const expected = new Set(bodies.filter((b) => b.high).map((b) => b.pdId)).size;
    const sign = (b: string) => `v1=${createHmac('sha256', secret).update(b).digest('hex')}`;

    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const start = Date.now();
    const gap = (SECONDS * 1000) / DELIVERIES;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < bodies.length; i++) {
      const due = start + i * gap;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const b = bodies[i]!;
      sends.push(
        (async () => {
          const t0 = performance.now();
          const r = await fetch(`${fb.baseUrl}/webhooks/pagerduty`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-id': b.deliveryId, 'x-pagerduty-signature': sign(b.body) }, body: b.body });
          await r.arrayBuffer();
          latencies.push(performance.now() - t0);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        })(),
      );
    }
    await Promise.all(sends);
    const sentMs = Date.now() - start;
    const db = fb.app.database.db;
    const countCreated = async () => Number((await db.selectFrom('incidents').select((eb) => eb.fn.countAll().as('n')).where('idempotency_key', 'like', 'pagerduty:%').executeTakeFirstOrThrow()).n);
    let created = 0;
    const until = Date.now() + 180_000;
    while (Date.now() < until) {
      created = await countCreated();
      if (created >= expected) break;
      await sleep(20);
    }
    const lastExists = Date.now() - start;
    await sleep(1500);
    created = await countCreated();
    const links = await db.selectFrom('pagerduty_incident_links').select(['pd_incident_id']).where('reason', '=', 'source').execute();
    const perPd = new Map<string, number>();
    for (const l of links) perPd.set(l.pd_incident_id, (perPd.get(l.pd_incident_id) ?? 0) + 1);
    const dupLinks = [...perPd.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
    const lowCreated = links.filter((l) => !bodies.find((b) => b.pdId === l.pd_incident_id)?.high).length;
    const duplicates = Math.max(0, created - perPd.size) + dupLinks;

    const applied = await db.selectFrom('pagerduty_webhook_events').select(['applied_at']).execute();
    const lastApplied = Math.max(...applied.map((r) => Date.parse(r.applied_at ?? '') || 0)) - start;
    console.log(`deliveries applied     last ${(lastApplied / 1000).toFixed(2)} s after the first delivery (intake drain)`);
    console.log(`deliveries sent        ${bodies.length} in ${(sentMs / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    console.log(`incidents created      ${created} (expected ${expected} distinct matching PagerDuty incidents${created === expected ? ', equal' : ', MISMATCH'}); low urgency opened: ${lowCreated}`);
    console.log(`last incident exists   ${(lastExists / 1000).toFixed(2)} s after the first delivery`);
    console.log(`duplicates             ${duplicates}`);
    console.log(`webhook response       p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
    console.log(`load average           ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const tag = `${DB}, ${DELIVERIES} deliveries in ${SECONDS} s`;
    report({ bench: 'pagerduty-storm', figure: `incidents created, ${tag}`, value: created, unit: 'incidents', target: `= ${expected} (one per matching PagerDuty incident)`, met: created === expected });
    report({ bench: 'pagerduty-storm', figure: `duplicate incidents, ${tag}`, value: duplicates, unit: '', target: '0', met: duplicates === 0 });
    report({ bench: 'pagerduty-storm', figure: `last incident exists after the first delivery, ${tag}`, value: lastExists / 1000, unit: 's', target: `≤ ${SECONDS} s (within the deliveries' own window)`, met: lastExists <= SECONDS * 1000 });
    if (created !== expected || duplicates !== 0) process.exitCode = 1;
  } finally {
    await s.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
