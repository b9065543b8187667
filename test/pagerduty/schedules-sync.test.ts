// PagerDuty schedules in the catalog, and escalation policies linked to the schedules and users they target:
// synced from the emulator through the real client, on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers.js';
import { expectCatalogMatches } from './catalog-check.js';
import { allEntries, connect, setup, syncNow, type Setup } from './helpers.js';

const ignoreTagId = (s: Setup) => [...s.pd.state.tags.values()].find((t) => t.label === 'incident-io-ignore')!.id;
const entryOf = async (s: Setup, typeName: string, externalId: string) => (await allEntries(s, typeName)).find((e) => e.external_id === externalId);
const page = async (s: Setup, id: string) => (await s.owner.get(`/api/v1/catalog_entries/${id}`)).body;
const linkNames = (p: any, attrName: string) => p.attributes.find((a: any) => a.attribute.name === attrName).links.map((l: any) => l.name).sort();

for (const backend of backends) {
  describe(`PagerDuty schedules in the catalog (${backend})`, () => {
    let s: Setup;
    let users: string[];
    beforeAll(async () => {
      s = await setup(backend, 'medium');
      users = [...s.pd.state.users.values()].filter((u) => ['user', 'admin'].includes(u.role)).map((u) => u.id);
      await connect(s);
    });
    afterAll(async () => s?.close());

    it('every schedule syncs with its name, description, time zone, teams and the users of all its layers, in one list request per 100', async () => {
      await expectCatalogMatches(s);
      const run = (await s.owner.get('/api/v1/catalog_sync_runs?source=pagerduty')).body.sync_runs[0];
      expect(run.stats.schedules).toMatchObject({ fetched: s.pd.state.schedules.size, created: s.pd.state.schedules.size, archived: 0, complete: true });
      const log = s.pd.requestLog();
      const lists = log.filter((r) => r.path === '/schedules');
      expect(lists).toHaveLength(Math.ceil(s.pd.state.schedules.size / 100));
      expect(lists[0]!.query['include[]']).toBe('schedule_layers');
      expect(log.filter((r) => r.path.startsWith('/schedules/') || r.path === '/oncalls')).toEqual([]);

      // A schedule with a second layer: its page names the users of both layers and its team.
      const sch = [...s.pd.state.schedules.values()].find((x) => x.layers.length > 1 && x.team_ids.length > 0)!;
      const p = await page(s, (await entryOf(s, 'PagerDutySchedule', sch.id)).id);
      expect(p.catalog_type.name).toBe('PagerDuty Schedule');
      expect(linkNames(p, 'Users')).toEqual(sch.user_ids.map((u) => s.pd.state.users.get(u)!.name).sort());
      expect(linkNames(p, 'Users').length).toBeGreaterThan(sch.layers[0]!.user_ids.length - 1);
      expect(linkNames(p, 'Teams')).toEqual([s.pd.state.teams.get(sch.team_ids[0]!)!.name]);
      expect(p.attributes.find((a: any) => a.attribute.name === 'Time zone').value).toBe(sch.time_zone);
    });

    it('a policy entry links the schedules and users it targets, by name, and the schedule page shows the policies using it', async () => {
      const ignored = new Set(s.pd.state.tags.get(ignoreTagId(s))!.escalation_policies);
      const policy = [...s.pd.state.escalationPolicies.values()].find((x) => !ignored.has(x.id)
        && x.escalation_rules.some((r) => r.targets.some((t) => t.type === 'schedule')) && x.escalation_rules.some((r) => r.targets.some((t) => t.type === 'user')))!;
      const p = await page(s, (await entryOf(s, 'PagerDutyEscalationPolicy', policy.id)).id);
      const targets = policy.escalation_rules.flatMap((r) => r.targets);
      const names = (type: 'user' | 'schedule') => [...new Set(targets.filter((t) => t.type === type).map((t) => (type === 'user' ? s.pd.state.users.get(t.id)!.name : s.pd.state.schedules.get(t.id)!.name)))].sort();
      expect(linkNames(p, 'Targets (schedules)')).toEqual(names('schedule'));
      expect(linkNames(p, 'Targets (users)')).toEqual(names('user'));
      const scheduleId = targets.find((t) => t.type === 'schedule')!.id;
      const sp = await page(s, (await entryOf(s, 'PagerDutySchedule', scheduleId)).id);
      const back = sp.backlinks.find((b: any) => b.type.name === 'PagerDuty Escalation Policy' && b.attribute.name === 'Targets (schedules)');
      const using = [...s.pd.state.escalationPolicies.values()].filter((x) => !ignored.has(x.id) && x.escalation_rules.some((r) => r.targets.some((t) => t.id === scheduleId))).map((x) => x.name);
      expect(back.entries.map((e: any) => e.name).sort()).toEqual(using.sort());
    });

    it('changes in PagerDuty propagate: a new schedule, a new layer user, a renamed schedule, a deleted one archived; a re-sync writes nothing', async () => {
      const [a, b, c] = users as [string, string, string];
      const team = [...s.pd.state.teams.values()][1]!;
      const added = s.pd.admin.addSchedule({ name: 'Database on-call', description: 'DBAs', time_zone: 'Asia/Tokyo', team_ids: [team.id],
        layers: [{ rotation_virtual_start: '2026-01-05T00:00:00Z', rotation_turn_length_seconds: 604_800, users: [a, b] }] });
      const changed = [...s.pd.state.schedules.values()][0]!;
      s.pd.admin.addScheduleLayer(changed.id, { rotation_virtual_start: '2026-01-05T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [c] });
      s.pd.admin.updateSchedule(changed.id, { name: 'Renamed rota' });
      const doomed = [...s.pd.state.schedules.values()][1]!;
      s.pd.admin.deleteSchedule(doomed.id);
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.stats.schedules).toMatchObject({ created: 1, updated: 1, archived: 1 });
      await expectCatalogMatches(s);
      const entry = await entryOf(s, 'PagerDutySchedule', added.id);
      expect(entry.name).toBe('Database on-call');
      expect(linkNames(await page(s, entry.id), 'Users')).toEqual([a, b].map((u) => s.pd.state.users.get(u)!.name).sort());
      expect(linkNames(await page(s, (await entryOf(s, 'PagerDutySchedule', changed.id)).id), 'Users')).toContain(s.pd.state.users.get(c)!.name);
      const archived = await allEntries(s, 'PagerDutySchedule', 'only');
      expect(archived.map((e) => e.external_id)).toContain(doomed.id);
      const again = await syncNow(s);
      expect(again.rows_written).toBe(0);
      expect(again.stats.schedules).toMatchObject({ created: 0, updated: 0, archived: 0, unchanged: s.pd.state.schedules.size });
    });

    it('a user removed from PagerDuty drops off the schedules that had them; a schedules-only run leaves the other types alone', async () => {
      const sch = [...s.pd.state.schedules.values()].find((x) => x.user_ids.length >= 2)!;
      const gone = sch.user_ids[0]!;
      const goneName = s.pd.state.users.get(gone)!.name;
      s.pd.admin.deleteUser(gone);
      const only = await syncNow(s, { types: ['schedules'] });
      expect(only.status).toBe('succeeded');
      expect(Object.keys(only.stats)).toEqual(['schedules']);
      expect(s.pd.requestLog().filter((r) => r.path === '/users')).not.toHaveLength(0); // from earlier runs
      expect(linkNames(await page(s, (await entryOf(s, 'PagerDutySchedule', sch.id)).id), 'Users')).not.toContain(goneName);
      expect(await entryOf(s, 'PagerDutyUser', gone)).toBeDefined(); // users were not part of the run
      expect((await syncNow(s)).status).toBe('succeeded');
      await expectCatalogMatches(s);
    });

    it('ignore rules: schedules cannot be tagged, so they all sync; a policy tagged incident-io-ignore is left out and its link with it', async () => {
      const tag = ignoreTagId(s);
      const policy = [...s.pd.state.escalationPolicies.values()].find((x) => !s.pd.state.tags.get(tag)!.escalation_policies.includes(x.id)
        && x.escalation_rules.some((r) => r.targets.some((t) => t.type === 'schedule' && s.pd.state.schedules.has(t.id))))!;
      const scheduleId = policy.escalation_rules.flatMap((r) => r.targets).find((t) => t.type === 'schedule' && s.pd.state.schedules.has(t.id))!.id;
      s.pd.admin.tagEntity(tag, 'escalation_policies', policy.id);
      try {
        expect((await syncNow(s)).status).toBe('succeeded');
        await expectCatalogMatches(s);
        expect(await entryOf(s, 'PagerDutyEscalationPolicy', policy.id)).toBeUndefined();
        const sp = await page(s, (await entryOf(s, 'PagerDutySchedule', scheduleId)).id);
        const back = sp.backlinks.find((b: any) => b.attribute.name === 'Targets (schedules)');
        // The archived policy still shows as archived where it linked (the catalog keeps archived entries' links).
        expect((back?.entries ?? []).filter((e: any) => !e.archived).map((e: any) => e.name)).not.toContain(policy.name);
      } finally {
        s.pd.admin.untagEntity(tag, 'escalation_policies', policy.id);
      }
      expect((await syncNow(s)).status).toBe('succeeded');
      expect(await entryOf(s, 'PagerDutyEscalationPolicy', policy.id)).toBeDefined();
    });

    it('a failing schedules listing archives no schedule; the next complete listing archives the one deleted', async () => {
      const before = (await allEntries(s, 'PagerDutySchedule')).length;
      s.pd.admin.deleteSchedule([...s.pd.state.schedules.values()][2]!.id);
      // Every answer fails (5xx) for this run: retries run out, the type reports its error.
      s.pd.faults.set({ errorRate5xx: 1 });
      const run = await syncNow(s, { types: ['schedules'] }).finally(() => s.pd.faults.clear());
      expect(run.status).toBe('failed');
      expect(run.stats.schedules?.archived ?? 0).toBe(0);
      expect((await allEntries(s, 'PagerDutySchedule')).length).toBe(before);
      const next = await syncNow(s);
      expect(next.status).toBe('succeeded');
      expect(next.stats.schedules.archived).toBe(1);
    });
  });
}
