// `firebreak catalog apply -f file.yaml [--dry-run]` and `firebreak catalog export <type>`, run as the real
// command (src/main.ts in a child process) on the data directory of a running Firebreak whose PagerDuty catalog
// is synced from the emulator: the dry run prints the plan and writes nothing, apply writes it, a second apply
// changes nothing, a bad file exits non-zero with the line of the problem.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSummary } from '../../src/catalog/cli.js';
import { allEntries, connect, setup, type Setup } from '../pagerduty/helpers.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const SCRUBBED = /^(DATABASE_URL|PUBLIC_URL|FIREBREAK_|SLACK_|PORT$|HOST$|DATA_DIR$|LOG_LEVEL$|JOB_)/;

function firebreak(args: string[], dataDir: string): Promise<{ code: number | null; out: string; err: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUBBED.test(k)) env[k] = v;
  Object.assign(env, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/main.ts'), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, out, err }));
  });
}

describe('firebreak catalog (CLI)', () => {
  let s: Setup;
  let dir: string;
  let file: string;
  let service: { id: string; name: string };
  beforeAll(async () => {
    s = await setup('sqlite', 'small');
    await connect(s);
    dir = mkdtempSync(join(tmpdir(), 'catalog-cli-'));
    file = join(dir, 'products.yaml');
    const e = (await allEntries(s, 'PagerDutyService'))[0]!;
    service = { id: e.external_id, name: e.name };
    writeFileSync(
      file,
      `type:
  type_name: Product
  name: Product
  attributes:
    - { id: services, name: Services, type: reference, reference_type: PagerDutyService, array: true }
    - { id: policies, name: Escalation policies, type: derived, path: [services, escalation_policy] }
entries:
  - { external_id: checkout, name: Checkout, attributes: { services: [${service.id}] } }
  - { external_id: search, name: Search }
`,
    );
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dry run prints the plan and writes nothing; apply writes it; again changes nothing', async () => {
    const dry = await firebreak(['catalog', 'apply', '-f', file, '--dry-run'], s.fb.dataDir);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out.split('\n').slice(0, 7)).toEqual([
      'Dry run: this is what applying would do; nothing was written.',
      'Type Product (Product): to create',
      '  + attribute "Services" (services, reference to PagerDutyService list)',
      '  + attribute "Escalation policies" (policies, derived: services → escalation_policy)',
      'Entries: 2 to add, 0 to change, 0 to archive, 0 unchanged',
      '  + checkout  Checkout',
      '  + search    Search',
    ]);
    expect((await s.owner.get('/api/v1/catalog_types/Product')).status).toBe(404);

    const applied = await firebreak(['catalog', 'apply', '-f', file], s.fb.dataDir);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toMatch(/^Applied\.\nType Product \(Product\): created\n/);
    const checkout = (await allEntries(s, 'Product')).find((e) => e.external_id === 'checkout')!;
    const d = (await s.owner.get(`/api/v1/catalog_entries/${checkout.id}`)).body;
    expect(d.attributes.find((a: any) => a.attribute.id === 'services').links.map((l: any) => l.name)).toEqual([service.name]);
    expect(d.attributes.find((a: any) => a.attribute.id === 'policies').links).toHaveLength(1);

    const again = await firebreak(['catalog', 'apply', '-f', file], s.fb.dataDir);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Nothing to change: the catalog already matches the document.');
    expect(again.out).toContain('Entries: 0 to add, 0 to change, 0 to archive, 2 unchanged');

    const exported = await firebreak(['catalog', 'export', 'Product'], s.fb.dataDir);
    expect(exported.code).toBe(0);
    expect(exported.out).toBe((await s.owner.request('GET', '/api/v1/catalog_types/Product/export?format=yaml')).body);
  }, 120_000);

  it('a bad file exits non-zero with a clear message and the line; a missing file and a missing -f too', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'type:\n  type_name: Product\n  name: Product\nentries:\n  - external_id: x\n    name: X\n    attributes: { services: [NOPE] }\n');
    const bad = await firebreak(['catalog', 'apply', '-f', join(dir, 'bad.yaml'), '--dry-run'], s.fb.dataDir);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('line 7, column');
    expect(bad.err).toContain('no attribute "services"');
    const missing = await firebreak(['catalog', 'apply', '-f', join(dir, 'nope.yaml')], s.fb.dataDir);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no such file');
    const usage = await firebreak(['catalog', 'apply'], s.fb.dataDir);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('-f <file>');
  }, 60_000);

  it('prints changes with the attributes that change, names rather than ids', () => {
    const text = planSummary({
      dry_run: true,
      changed: true,
      type: { type_name: 'Product', name: 'Product', action: 'unchanged', changes: [], values_dropped: [] },
      entries: { add: [{ external_id: 'billing', name: 'Billing' }], change: [{ external_id: 'checkout', name: 'Checkout', restore: false, changes: [{ field: 'services', label: 'Services', from: 'Payments API, Web', to: 'Web' }] }], archive: [{ external_id: 'search', name: 'Search' }], unchanged: 4 },
    });
    expect(text.split('\n')).toEqual([
      'Dry run: this is what applying would do; nothing was written.',
      'Type Product (Product): unchanged',
      'Entries: 1 to add, 1 to change, 1 to archive, 4 unchanged',
      '  + billing   Billing',
      '  ~ checkout  Checkout',
      '      Services: Payments API, Web → Web',
      '  - search    Search (not in the file: would be archived)',
      '3 changes to apply: run it again without --dry-run.',
      '',
    ]);
  });
});
