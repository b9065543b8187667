import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { expectCatalogMatches, expectedCatalog } from './catalog-check.js';
import { allEntries, connect, setup, syncNow, waitForRun, type Setup } from './helpers.js';

const ignoreTagId = (s: Setup) => [...s.pd.state.tags.values()].find((t) => t.label === 'incident-io-ignore')!.id;

for (const backend of backends) {
  describe(`PagerDuty catalog sync (${backend})`, () => {
    let s: Setup;
    beforeAll(async () => {
      s = await setup(backend, 'medium');
      await connect(s);
    });
    afterAll(async () => s?.close());

    it('the first sync brings every type, attribute and link of the medium account', async () => {
      await expectCatalogMatches(s);
      const runs = (await s.owner.get('/api/v1/catalog_sync_runs?source=pagerduty')).body.sync_runs;
      const run = runs[0];
      expect(run.status).toBe('succeeded');
      expect(run.trigger).toBe('connect');
      const exp = expectedCatalog(s.pd);
      expect(run.stats.users).toMatchObject({ fetched: exp.PagerDutyUser.size, created: exp.PagerDutyUser.size, archived: 0, complete: true });
      const ignoredServices = [...s.pd.state.services.values()].filter((x) => x.description.includes('incident-io-ignore')).length;
      expect(ignoredServices).toBeGreaterThan(0);
      expect(run.stats.services.skipped_by_marker).toBe(ignoredServices);
      expect(run.stats.escalation_policies.skipped_by_marker).toBe(s.pd.state.escalationPolicies.size - exp.PagerDutyEscalationPolicy.size);
      expect(run.stats.escalation_policies.skipped_by_marker).toBeGreaterThan(0);
      // Full pages, no per-team, per-policy or per-schedule requests: one list per type plus the two tag lookups.
      const st = s.pd.state;
      const min = [st.users.size, st.teams.size, st.services.size, st.priorities.size, st.escalationPolicies.size, st.schedules.size].reduce((n, c) => n + Math.max(1, Math.ceil(c / 100)), 0) + 2;
      expect(run.requests).toBe(min);
      expect(run.progress.users).toEqual({ fetched: st.users.size, total: st.users.size });
    });

    it('a re-sync with no change writes nothing', async () => {
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.rows_written).toBe(0);
      for (const t of Object.values(run.stats) as any[]) expect(t).toMatchObject({ created: 0, updated: 0, archived: 0 });
      expect(run.stats.users.unchanged).toBe(s.pd.state.users.size);
    });

    it('a team page lists its members, and the services and policies that reference it (backlinks)', async () => {
      const team = [...s.pd.state.teams.values()].find((t) => t.members.length > 0 && [...s.pd.state.services.values()].some((x) => x.team_ids.includes(t.id) && !x.description.includes('incident-io-ignore')))!;
      const entry = (await allEntries(s, 'PagerDutyTeam')).find((e) => e.external_id === team.id);
      const page = (await s.owner.get(`/api/v1/catalog_entries/${entry.id}`)).body;
      expect(page.catalog_type.read_only).toBe(true);
      const members = page.attributes.find((a: any) => a.attribute.id === 'members');
      expect(members.links.map((l: any) => l.name).sort()).toEqual(team.members.map((m) => s.pd.state.users.get(m.user_id)!.name).sort());
      const svcBacklinks = page.backlinks.find((b: any) => b.type.name === 'PagerDuty Service' && b.attribute.name === 'Teams');
      const expectedServices = [...s.pd.state.services.values()].filter((x) => x.team_ids.includes(team.id) && !x.description.includes('incident-io-ignore')).map((x) => x.name);
      expect(svcBacklinks.entries.map((e: any) => e.name).sort()).toEqual(expectedServices.sort());
      // People cannot edit integration types.
      const edit = await s.owner.post('/api/v1/catalog_entries', { catalog_type_id: 'PagerDutyTeam', name: 'Hand-made' });
      expect(edit.status).toBe(409);
      expect(edit.body.error.code).toBe('read_only_type');
    });

    it('entries search, filter by type and paginate with a cursor', async () => {
      const u = [...s.pd.state.users.values()][5]!;
      const r = await s.owner.get(`/api/v1/catalog_entries?catalog_type_id=PagerDutyUser&search=${encodeURIComponent(u.name.toUpperCase())}`);
      expect(r.body.catalog_entries.map((e: any) => e.external_id)).toContain(u.id);
      const byEmail = await s.owner.get(`/api/v1/catalog_entries?catalog_type_id=PagerDutyUser&search=${encodeURIComponent(u.email.trim())}`);
      expect(byEmail.body.catalog_entries.map((e: any) => e.external_id)).toContain(u.id);
      const p1 = await s.owner.get('/api/v1/catalog_entries?catalog_type_id=PagerDutyUser&limit=7');
      const p2 = await s.owner.get(`/api/v1/catalog_entries?catalog_type_id=PagerDutyUser&limit=7&cursor=${p1.body.next_cursor}`);
      expect(p1.body.catalog_entries).toHaveLength(7);
      expect(new Set([...p1.body.catalog_entries, ...p2.body.catalog_entries].map((e: any) => e.id)).size).toBe(14);
      expect((await s.owner.get('/api/v1/catalog_entries?cursor=garbage')).status).toBe(400);
    });

    it('Firebreak users are matched by email whatever the case and spaces, and re-matched when either side changes', async () => {
      const quirky = [...s.pd.state.users.values()].find((u) => u.email !== u.email.trim() || u.email !== u.email.toLowerCase())!;
      expect(quirky).toBeDefined();
      const entryOf = async (id: string) => {
        const e = (await allEntries(s, 'PagerDutyUser')).find((x) => x.external_id === id);
        return (await s.owner.get(`/api/v1/catalog_entries/${e.id}`)).body.attributes.find((a: any) => a.attribute.id === 'firebreak_user');
      };
      expect((await entryOf(quirky.id)).links).toEqual([]);
      // Firebreak side: a person with the same email (other case, no spaces) appears: matched without a sync.
      const created = await s.owner.post('/api/v1/users', { name: quirky.name, email: quirky.email.trim().toUpperCase(), role: 'responder' });
      expect(created.status).toBe(201);
      const matched = await entryOf(quirky.id);
      expect(matched.value).toBe(created.body.user.id);
      expect(matched.links[0]).toMatchObject({ kind: 'user', id: created.body.user.id });
      // PagerDuty side: the email changes; after the next sync the match follows it.
      s.pd.admin.updateUser(quirky.id, { email: `  Moved.${quirky.id}@Example.org ` });
      const run = await syncNow(s);
      expect(run.stats.users.updated).toBe(1);
      expect((await entryOf(quirky.id)).links).toEqual([]);
      await s.owner.patch(`/api/v1/users/${created.body.user.id}`, { email: `moved.${quirky.id.toLowerCase()}@example.org` });
      expect((await entryOf(quirky.id)).value).toBe(created.body.user.id);
    });

    it('ignore markers: entries are archived when the marker appears and restored when it goes', async () => {
      const svc = [...s.pd.state.services.values()].find((x) => !x.description.includes('incident-io-ignore'))!;
      const kept = expectedCatalog(s.pd).PagerDutyEscalationPolicy;
      const policy = [...s.pd.state.escalationPolicies.values()].find((p) => kept.has(p.id) && [...s.pd.state.services.values()].some((x) => x.escalation_policy_id === p.id && x.id !== svc.id && !x.description.includes('incident-io-ignore')))!;
      const referencing = [...s.pd.state.services.values()].filter((x) => x.escalation_policy_id === policy.id && x.id !== svc.id && !x.description.includes('incident-io-ignore')).length;
      const oldDescription = svc.description;
      s.pd.admin.updateService(svc.id, { description: `${oldDescription} (INCIDENT-IO-IGNORE)` });
      s.pd.admin.tagEntity(ignoreTagId(s), 'escalation_policies', policy.id);
      s.pd.clearRequestLog();
      let run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.stats.services.archived).toBe(1);
      expect(run.stats.escalation_policies.archived).toBe(1);
      // Services pointing at the now-ignored policy lose the reference.
      expect(run.stats.services.updated).toBe(referencing);
      // The policies tagged are found through the tag's reverse lookup, not one request per policy.
      const paths = s.pd.requestLog().map((e) => e.path);
      expect(paths.filter((p) => p.startsWith('/tags'))).toEqual(['/tags', `/tags/${ignoreTagId(s)}/escalation_policies`]);
      expect(paths.some((p) => /^\/escalation_policies\/[^/]+\/tags$/.test(p))).toBe(false);
      const archived = await allEntries(s, 'PagerDutyService', 'only');
      expect(archived.map((e) => e.external_id)).toContain(svc.id);
      await expectCatalogMatches(s);

      s.pd.admin.updateService(svc.id, { description: oldDescription });
      s.pd.admin.untagEntity(ignoreTagId(s), 'escalation_policies', policy.id);
      run = await syncNow(s);
      expect(run.stats.services.updated).toBe(1 + referencing);
      expect(run.stats.escalation_policies.updated).toBe(1);
      expect((await allEntries(s, 'PagerDutyService', 'only')).map((e) => e.external_id)).not.toContain(svc.id);
      await expectCatalogMatches(s);
    });

    it('renames and deletions in the account propagate', async () => {
      const [u1, u2] = [...s.pd.state.users.values()].slice(10, 12);
      const team = [...s.pd.state.teams.values()][0]!;
      const svc = [...s.pd.state.services.values()].find((x) => !x.description.includes('incident-io-ignore'))!;
      s.pd.admin.updateUser(u1!.id, { name: 'Renamed Person', job_title: 'Chief Renamer' });
      s.pd.admin.updateTeam(team.id, { name: 'Renamed Team' });
      s.pd.admin.deleteUser(u2!.id);
      s.pd.admin.deleteService(svc.id);
      const added = s.pd.admin.addTeam({ name: 'Brand New Team', description: 'new', members: [{ user_id: u1!.id }] });
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.stats.users.archived).toBe(1);
      expect(run.stats.services.archived).toBe(1);
      expect(run.stats.teams.created).toBe(1);
      await expectCatalogMatches(s);
      const teams = await allEntries(s, 'PagerDutyTeam');
      expect(teams.find((t) => t.external_id === added.id).name).toBe('Brand New Team');
    });

    it('safety: a run that would archive more than 20% of a type, or empty it, stops unless forced', async () => {
      const services = [...s.pd.state.services.values()].filter((x) => !x.description.includes('incident-io-ignore'));
      const doomed = services.slice(0, Math.ceil(services.length * 0.3));
      const saved = doomed.map((x) => ({ ...x }));
      for (const x of doomed) s.pd.admin.deleteService(x.id);
      const before = (await allEntries(s, 'PagerDutyService')).length;
      const run = await syncNow(s);
      expect(run.status).toBe('stopped');
      expect(run.stop_reason).toMatch(/PagerDuty Service: this run would archive \d+ of \d+ entries/);
      expect(run.rows_written).toBe(0);
      expect((await allEntries(s, 'PagerDutyService')).length).toBe(before);
      // The threshold is configurable.
      await s.owner.patch('/api/v1/integrations/pagerduty', { archive_threshold: 0.5 });
      const allowed = await syncNow(s, { types: ['services'] });
      expect(allowed.status).toBe('succeeded');
      expect(allowed.stats.services.archived).toBe(doomed.length);
      await s.owner.patch('/api/v1/integrations/pagerduty', { archive_threshold: 0.2 });
      for (const x of saved) s.pd.admin.addService({ id: x.id, name: x.name, description: x.description, status: x.status, escalation_policy_id: x.escalation_policy_id, team_ids: x.team_ids });
      expect((await syncNow(s)).status).toBe('succeeded');
      await expectCatalogMatches(s);

      // An account that suddenly lists no priorities: stopped; forced: applied.
      const prios = [...s.pd.state.priorities.values()];
      (s.pd.state.priorities as Map<string, unknown>).clear();
      const empty = await syncNow(s, { types: ['priorities'] });
      expect(empty.status).toBe('stopped');
      expect(empty.stop_reason).toMatch(/PagerDuty Priority: the source returned no entries but 5 are stored/);
      const forced = await syncNow(s, { types: ['priorities'], force: true });
      expect(forced.status).toBe('succeeded');
      expect(forced.forced).toBe(true);
      expect(forced.stats.priorities.archived).toBe(5);
      for (const p of prios) (s.pd.state.priorities as Map<string, any>).set((p as any).id, p);
      const back = await syncNow(s, { types: ['priorities'] });
      expect(back.stats.priorities.updated).toBe(5);
    });

    it('429 bursts, 5xx and dropped connections during a sync still converge to the same catalog', async () => {
      s.pd.admin.updateUser([...s.pd.state.users.values()][20]!.id, { name: 'Changed Under Fire' });
      s.pd.faults.set({ rateLimitBurst: 3, errorRate5xx: 0.15, dropConnectionRate: 0.1 });
      const run = await syncNow(s);
      s.pd.faults.clear();
      expect(run.status).toBe('succeeded');
      expect(run.stats.users.updated).toBe(1);
      expect(run.requests).toBeGreaterThan(12);
      await expectCatalogMatches(s);
    });

    it('a sync stopped mid-run archives nothing, and the next run completes', async () => {
      const victim = [...s.pd.state.users.values()][30]!;
      s.pd.admin.deleteUser(victim.id);
      const integration = s.fb.app.pagerduty.integration;
      const run = (await s.owner.post('/api/v1/catalog_sync_runs', {})).status; // (no such route: runs are made by "sync now")
      expect(run).toBe(404);
      const recorded = await integration.requestSync({ trigger: 'manual', enqueue: false });
      s.pd.faults.set({ latencyMs: 30 });
      const controller = new AbortController();
      // Stopped as soon as the first page of users is in: the other lists are still being read.
      const onProgress = (p: Record<string, { fetched: number }>) => {
        if ((p.users?.fetched ?? 0) > 0) controller.abort(new Error('process killed'));
      };
      await expect(integration.runSync(recorded.id, { signal: controller.signal, onProgress })).rejects.toThrow();
      s.pd.faults.clear();
      const failed = await waitForRun(s, recorded.id);
      expect(failed.status).toBe('failed');
      expect(failed.errors.join(' ')).toMatch(/nothing was archived/);
      expect((await allEntries(s, 'PagerDutyUser')).map((e) => e.external_id)).toContain(victim.id);

      // A process that died holding the lock: its lease runs out and the next run takes over.
      const dead = await integration.requestSync({ trigger: 'manual', enqueue: false });
      await s.fb.app.catalog.runs.acquire('pagerduty', dead.id, 100);
      await new Promise((r) => setTimeout(r, 150));
      const next = await syncNow(s);
      expect(next.status).toBe('succeeded');
      expect(next.stats.users.archived).toBe(1);
      expect((await s.owner.get(`/api/v1/catalog_sync_runs/${dead.id}`)).body.sync_run.status).toBe('abandoned');
      await expectCatalogMatches(s);
    });

    it('schedules: each type syncs when its interval has passed (priorities daily, the rest hourly, configurable)', async () => {
      const integration = s.fb.app.pagerduty.integration;
      expect(await integration.tick()).toBeNull();
      const hourLater = await integration.tick(Date.now() + 61 * 60_000);
      expect(hourLater?.trigger).toBe('schedule');
      expect([...hourLater!.types].sort()).toEqual(['escalation_policies', 'schedules', 'services', 'teams', 'users']);
      // Another tick while that run waits adds nothing.
      expect(await integration.tick(Date.now() + 61 * 60_000)).toBeNull();
      await waitForRun(s, hourLater!.id);
      expect((await integration.tick(Date.now() + 25 * 3_600_000))?.types).toContain('priorities');
      await waitForRun(s, (await s.fb.app.catalog.runs.latest('pagerduty'))!.id);
      const patched = await s.owner.patch('/api/v1/integrations/pagerduty', { sync_intervals_minutes: { priorities: 30 } });
      expect(patched.body.sync_intervals_minutes.priorities).toBe(30);
      expect((await integration.tick(Date.now() + 31 * 60_000))?.types).toEqual(['priorities']);
      await waitForRun(s, (await s.fb.app.catalog.runs.latest('pagerduty'))!.id);
      const types = (await s.owner.get('/api/v1/catalog_types')).body.catalog_types;
      expect(types.find((t: any) => t.type_name === 'PagerDutyPriority').sync_interval_minutes).toBe(30);
      expect(types.find((t: any) => t.type_name === 'PagerDutyUser').sync_interval_minutes).toBe(60);
    });

    it('at most one sync at a time: a second run waits for the lock', async () => {
      const integration = s.fb.app.pagerduty.integration;
      const a = await integration.requestSync({ trigger: 'manual', enqueue: false });
      const b = await integration.requestSync({ trigger: 'manual', enqueue: false });
      s.pd.faults.set({ latencyMs: 20 });
      const first = integration.runSync(a.id);
      await new Promise((r) => setTimeout(r, 30));
      await expect(integration.runSync(b.id)).rejects.toThrow(/another pagerduty sync is running/);
      expect((await first).status).toBe('succeeded');
      s.pd.faults.clear();
    });
  });
}
