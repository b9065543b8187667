import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshPostgresDatabase } from '../../test/helpers.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../platform/db/index.js';
import { coreMigrations } from '../platform/db/migrations/index.js';
import { CatalogService } from './catalog.service.js';
import { SyncBusyError, SyncRunsRepository } from './sync-runs.js';
import { runCatalogSync, type CatalogSource, type FetchedType, type SyncTypeDef } from './sync.js';

const types: SyncTypeDef[] = [
  { key: 'people', typeName: 'TestPerson', name: 'Test Person', description: '', defaultIntervalMs: 1000, attributes: [{ id: 'email', name: 'Email', type: 'string', array: false }, { id: 'user', name: 'User', type: 'firebreak_user', array: false }] },
  { key: 'groups', typeName: 'TestGroup', name: 'Test Group', description: '', defaultIntervalMs: 1000, attributes: [{ id: 'members', name: 'Members', type: 'reference', array: true, referenceType: 'TestPerson' }, { id: 'lead', name: 'Lead', type: 'reference', array: false, referenceType: 'TestPerson' }] },
];

/** A source whose answers the test sets directly. */
class FakeSource implements CatalogSource {
  source = 'fake';
  types = types;
  data: Record<string, FetchedType> = {};
  async fetch(keys: string[]) {
    return Object.fromEntries(keys.map((k) => [k, structuredClone(this.data[k] ?? { items: [], complete: true, skipped: [], error: null })]));
  }
}

for (const backend of backends) {
  describe(`catalog repository and sync engine (${backend})`, () => {
    let handle: DatabaseHandle;
    let cleanup: () => Promise<void>;
    let catalog: CatalogService;
    let runs: SyncRunsRepository;
    const source = new FakeSource();
    const users = [{ id: 'u1', name: 'Ada', email: 'Ada@Example.com' }];

    beforeAll(async () => {
      if (backend === 'postgres') {
        const d = await freshPostgresDatabase();
        handle = openDatabase({ kind: 'postgres', url: d.url, poolSize: 4 });
        cleanup = async () => {
          await handle.destroy();
          await d.drop();
        };
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'catalog-test-'));
        handle = openDatabase({ kind: 'sqlite', file: join(dir, 'db.sqlite') });
        cleanup = async () => {
          await handle.destroy();
          rmSync(dir, { recursive: true, force: true });
        };
      }
      await migrateToLatest(handle.db, coreMigrations);
      catalog = new CatalogService(handle.db, { byNormalizedEmail: async () => new Map(users.map((u) => [u.email.trim().toLowerCase(), u])) });
      runs = new SyncRunsRepository(handle.db);
      for (const t of types) await catalog.ensureIntegrationType({ ...t, source: 'fake', syncIntervalMs: t.defaultIntervalMs });
    });
    afterAll(async () => cleanup());

    const sync = async (opts: { force?: boolean } = {}) => {
      const run = await runs.create({ source: 'fake', trigger: 'test', types: [], forced: !!opts.force, requestedBy: null });
      return runCatalogSync({ catalog, runs }, source, { runId: run.id, force: opts.force });
    };
    const person = (id: string, name = `Person ${id}`) => ({ externalId: id, name, values: { email: `${id}@example.com`, user: id === 'p1' ? 'ada@example.com' : null } });

    it('creates entries with references resolved to entries created in the same run', async () => {
      source.data = {
        people: { items: [person('p1'), person('p2'), person('p3')], complete: true, skipped: [], error: null },
        groups: { items: [{ externalId: 'g1', name: 'Group one', values: { members: ['p2', 'p1', 'missing'], lead: 'p3' } }], complete: true, skipped: [], error: null },
      };
      const run = await sync();
      expect(run.status).toBe('succeeded');
      expect(run.stats.people).toMatchObject({ created: 3, fetched: 3 });
      const g = (await catalog.listEntries({ typeId: 'TestGroup', limit: 10 })).entries[0]!;
      const d = await catalog.describeEntry(g.id);
      expect(d.attributes.find((a) => a.attribute.id === 'members')!.links.map((l) => l.name).sort()).toEqual(['Person p1', 'Person p2']);
      expect(d.attributes.find((a) => a.attribute.id === 'lead')!.links.map((l) => l.name)).toEqual(['Person p3']);
      const p1 = (await catalog.listEntries({ typeId: 'TestPerson', search: 'p1', limit: 10 })).entries[0]!;
      const pd = await catalog.describeEntry(p1.id);
      expect(pd.attributes.find((a) => a.attribute.id === 'user')!.links[0]).toMatchObject({ kind: 'user', id: 'u1' });
      expect(pd.backlinks).toEqual([{ type: { id: expect.any(String), name: 'Test Group' }, attribute: { id: 'members', name: 'Members' }, entries: [{ id: g.id, name: 'Group one', archived: false }] }]);
    });

    it('writes nothing when nothing changed', async () => {
      const run = await sync();
      expect(run.rowsWritten).toBe(0);
      expect(run.stats.people!.unchanged).toBe(3);
    });

    it('a partial fetch archives nothing; a complete one archives what is gone, after creates and updates', async () => {
      source.data.people = { items: [person('p1', 'Renamed')], complete: false, skipped: [], error: 'page 2 failed' };
      let run = await sync();
      expect(run.status).toBe('partial');
      expect(run.stats.people).toMatchObject({ updated: 1, archived: 0 });
      expect((await catalog.listEntries({ typeId: 'TestPerson', limit: 10 })).entries).toHaveLength(3);
      // A complete list without p3 (one of three is more than 20%: needs force).
      source.data.people = { items: [person('p1', 'Renamed'), person('p2'), person('p4')], complete: true, skipped: [], error: null };
      run = await sync();
      expect(run.status).toBe('stopped');
      run = await sync({ force: true });
      expect(run.stats.people).toMatchObject({ created: 1, archived: 1 });
      const archived = (await catalog.listEntries({ typeId: 'TestPerson', archived: 'only', limit: 10 })).entries;
      expect(archived.map((e) => e.externalId)).toEqual(['p3']);
      // The group's lead pointed at p3: the reference is dropped, as the lead is gone.
      const g = (await catalog.listEntries({ typeId: 'TestGroup', limit: 10 })).entries[0]!;
      expect(g.attributes.lead).toBeNull();
    });

    it('skipped items are archived, and restored when they come back', async () => {
      source.data.people = { items: [person('p1', 'Renamed'), person('p2'), person('p4'), person('p5'), person('p6')], complete: true, skipped: [], error: null };
      await sync();
      source.data.people = { items: [person('p1', 'Renamed'), person('p2'), person('p4'), person('p5')], complete: true, skipped: ['p6'], error: null };
      let run = await sync();
      expect(run.stats.people).toMatchObject({ archived: 1, skippedByMarker: 1 });
      source.data.people = { items: [person('p1', 'Renamed'), person('p2'), person('p4'), person('p5'), person('p6')], complete: true, skipped: [], error: null };
      run = await sync();
      expect(run.stats.people).toMatchObject({ updated: 1, archived: 0 });
    });

    it('the lock allows one run per source; an expired lease is taken over', async () => {
      const a = await runs.create({ source: 'fake', trigger: 'test', types: [], forced: false, requestedBy: null });
      const b = await runs.create({ source: 'fake', trigger: 'test', types: [], forced: false, requestedBy: null });
      await runs.acquire('fake', a.id, 100);
      await expect(runs.acquire('fake', b.id, 100)).rejects.toBeInstanceOf(SyncBusyError);
      await new Promise((r) => setTimeout(r, 120));
      await runs.acquire('fake', b.id, 1000);
      expect((await runs.get(a.id)).status).toBe('abandoned');
      await runs.release('fake', b.id);
      expect(await runs.currentLock('fake')).toBeNull();
    });

    it('custom types are editable by people; entries paginate by name with a cursor', async () => {
      const t = await catalog.createType({ typeName: 'Thing', name: 'Thing', attributes: [{ name: 'Size', type: 'number', array: false }] });
      expect(t.readOnly).toBe(false);
      for (const n of ['b', 'a', 'c', 'A2']) await catalog.createEntry({ typeId: t.id, name: n, attributes: { Size: 1 } });
      const p1 = await catalog.listEntries({ typeId: 'Thing', limit: 2 });
      const p2 = await catalog.listEntries({ typeId: 'Thing', limit: 2, cursor: p1.nextCursor! });
      expect([...p1.entries, ...p2.entries].map((e) => e.name)).toEqual(['a', 'A2', 'b', 'c']);
      expect(p2.nextCursor).toBeNull();
      await expect(catalog.createEntry({ typeId: t.id, name: 'x', attributes: { Size: 'big' } })).rejects.toThrow(/expects number/);
      await expect(catalog.createEntry({ typeId: 'TestPerson', name: 'x' })).rejects.toThrow(/kept in sync/);
      const counts = await catalog.listTypes();
      expect(counts.find((x) => x.typeName === 'Thing')!.entryCount).toBe(4);
    });
  });
}
