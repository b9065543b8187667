import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSeed, type SeedData } from '../../emulators/pagerduty/index.js';
import { backends } from '../helpers.js';
import { allEntries, connect, setup, syncNow, waitForRun, type Setup } from './helpers.js';

// An account with more than 10,000 users. PagerDuty lists at most 10,000 items (offset + limit <= 10000), and
// GET /users filters only by query and team_ids[]: users past the window in no team cannot be listed at all.
// The account: 10,000 "Aa Filler" users sort first and fill the window exactly (3,000 of them in one team);
// after them come the small seed's users and 200 "Zz Late" users, 150 in the "Late Team" and 50 in no team.

const FILLERS = 10_000;
const pid = (prefix: string, i: number) => `${prefix}${i.toString(36).toUpperCase().padStart(5, '0')}`;

function bigAccount(): SeedData {
  const seed = generateSeed('small');
  const user = (id: string, name: string) => ({ id, name, email: `${name.toLowerCase().replace(/\s+/g, '.')}@big.example`, role: 'user' as const, job_title: 'Engineer', time_zone: 'Europe/Paris', description: null, color: 'green' });
  const fillers = Array.from({ length: FILLERS }, (_, i) => user(pid('PF', i), `Aa Filler ${String(i).padStart(5, '0')}`));
  const late = Array.from({ length: 200 }, (_, i) => user(pid('PZ', i), `Zz Late ${String(i).padStart(3, '0')}`));
  seed.users.push(...fillers, ...late);
  seed.teams.push(
    { id: 'PTFILLR', name: 'Filler Team', description: 'the first 3,000 fillers', default_role: 'manager', members: fillers.slice(0, 3000).map((u) => ({ user_id: u.id, role: 'responder' as const })) },
    { id: 'PTLATE1', name: 'Late Team', description: 'late users in a team', default_role: 'manager', members: late.slice(0, 150).map((u) => ({ user_id: u.id, role: 'responder' as const })) },
  );
  return seed;
}

for (const backend of backends) {
  describe(`a PagerDuty account with more than 10,000 users (${backend})`, () => {
    let s: Setup;
    let firebreakPerson: { id: string };
    const inTeam = () => {
      const ids = new Set<string>();
      for (const t of s.pd.state.teams.values()) for (const m of t.members) ids.add(m.user_id);
      return ids;
    };
    /** Users no listing reaches: not among the 10,000 fillers of the window, and in no team. */
    const unreachable = () => [...s.pd.state.users.values()].filter((u) => !u.name.startsWith('Aa Filler') && !inTeam().has(u.id));
    const ownerEmail = async () => ((await s.owner.get('/api/v1/users')).body.users as { email: string; role: string }[]).find((u) => u.role === 'owner')!.email.trim().toLowerCase();
    const noTeamLate = () => [...s.pd.state.users.values()].filter((u) => u.name.startsWith('Zz Late') && !inTeam().has(u.id));

    beforeAll(async () => {
      s = await setup(backend, 'none');
      await s.pd.reset(bigAccount());
      // Someone who uses Firebreak is one of the users no listing reaches (email typed in another case).
      const target = noTeamLate()[7]!;
      const created = await s.owner.post('/api/v1/users', { name: 'Late Person', email: target.email.toUpperCase(), role: 'responder' });
      expect(created.status).toBe(201);
      firebreakPerson = created.body.user;
    }, 60_000);
    afterAll(async () => s?.close());

    it('the first sync lists what PagerDuty lets it list, finds Firebreak people by email, and succeeds with a warning', async () => {
      s.pd.clearRequestLog();
      const connected = await connect(s, { wait: false });
      const run = await waitForRun(s, connected.last_run.id, 120_000);
      const total = s.pd.state.users.size;
      const missing = unreachable().length;
      expect(missing).toBe(50 + [...s.pd.state.users.values()].filter((u) => !u.name.startsWith('Aa Filler') && !u.name.startsWith('Zz Late') && !inTeam().has(u.id)).length);
      expect(run.status).toBe('succeeded');
      expect(run.errors).toEqual([]);
      expect(run.stats.users).toMatchObject({ complete: false, error: null, looked_up: 0, created: total - missing + 1 });
      expect(run.warnings).toEqual([`users: ${missing} of ${total.toLocaleString('en-US')} users are in no team and past PagerDuty's 10,000-item listing limit, so no listing reaches them; they are not in the catalog, except 1 looked up one by one (1 found by a Firebreak person's email)`]);
      expect(run.stats.users.warnings).toHaveLength(1);

      // The catalog: every user a listing reaches, plus the Firebreak person's PagerDuty user, matched to them.
      const users = await allEntries(s, 'PagerDutyUser');
      const unreachableIds = new Set(unreachable().map((u) => u.id));
      const target = noTeamLate()[7]!;
      expect(new Set(users.map((e) => e.external_id))).toEqual(new Set([...s.pd.state.users.keys()].filter((id) => !unreachableIds.has(id) || id === target.id)));
      const entry = users.find((e) => e.external_id === target.id);
      const described = (await s.owner.get(`/api/v1/catalog_entries/${entry.id}`)).body;
      expect(described.attributes.find((a: any) => a.attribute.id === 'firebreak_user').links).toEqual([expect.objectContaining({ kind: 'user', id: firebreakPerson.id })]);
      // Team members are complete, including users past the window.
      const teams = await allEntries(s, 'PagerDutyTeam');
      const idsOf = new Map(users.map((e) => [e.id, e.external_id]));
      for (const t of s.pd.state.teams.values()) {
        const e = teams.find((x) => x.external_id === t.id);
        expect((e.attribute_values.members as string[]).map((id) => idsOf.get(id)).sort(), t.name).toEqual(t.members.map((m) => m.user_id).sort());
      }

      // Requests: the window (100 pages), then one slice of teams read from where the window's members of
      // those teams end (3,000 fillers), one email look-up, no per-team member requests.
      const log = s.pd.requestLog();
      const listings = log.filter((e) => e.method === 'GET' && e.path === '/users');
      const sliced = listings.filter((e) => e.query['team_ids[]'] !== undefined);
      // (The connect form's one search for the bot account sends no offset.)
      expect(listings.filter((e) => e.query['team_ids[]'] === undefined && e.query.query === undefined && e.query.offset !== undefined)).toHaveLength(100);
      expect(sliced[0]!.query.offset).toBe('3000');
      const sliceTotal = [...s.pd.state.users.values()].filter((u) => inTeam().has(u.id)).length;
      expect(sliced).toHaveLength(Math.ceil((sliceTotal - 3000) / 100));
      // Firebreak's people who match no listed user are looked up by email: the one above, and the owner (not in PagerDuty).
      expect(listings.filter((e) => e.query.query !== undefined).map((e) => e.query.query).sort()).toEqual([target.email.trim().toLowerCase(), await ownerEmail()].sort());
      expect(log.filter((e) => /^\/teams\/[^/]+\/members$/.test(e.path))).toHaveLength(0);
    }, 150_000);

    it('a re-sync with no change writes nothing and checks the looked-up user by id instead of searching again', async () => {
      s.pd.clearRequestLog();
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.rows_written).toBe(0);
      expect(run.stats.users).toMatchObject({ looked_up: 1, created: 0, updated: 0, archived: 0 });
      const log = s.pd.requestLog();
      expect(log.filter((e) => e.path === `/users/${noTeamLate()[7]!.id}`)).toHaveLength(1);
      expect(log.filter((e) => e.path === '/users' && e.query.query !== undefined).map((e) => e.query.query)).toEqual([await ownerEmail()]);
    }, 150_000);

    it('users deleted in PagerDuty are archived even though the listing is incomplete: each unseen one is checked by id', async () => {
      const target = noTeamLate()[7]!;
      const filler = [...s.pd.state.users.values()].find((u) => u.name === 'Aa Filler 04321')!;
      const lateInTeam = [...s.pd.state.users.values()].find((u) => u.name === 'Zz Late 010')!;
      for (const u of [target, filler, lateInTeam]) s.pd.admin.deleteUser(u.id);
      s.pd.clearRequestLog();
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.stats.users).toMatchObject({ looked_up: 3, archived: 3 });
      const archived = (await allEntries(s, 'PagerDutyUser', 'only')).map((e) => e.external_id).sort();
      expect(archived).toEqual([target.id, filler.id, lateInTeam.id].sort());
      // The Firebreak person's PagerDuty user is gone: their email is looked up again and matches nobody.
      const log = s.pd.requestLog();
      expect(log.filter((e) => e.path === '/users' && e.query.query !== undefined).map((e) => e.query.query).sort()).toEqual([target.email.trim().toLowerCase(), await ownerEmail()].sort());
      expect(run.warnings[0]).toMatch(/they are not in the catalog$/);
    }, 150_000);

    it('when more stored users are unseen than a run checks one by one, none is archived and the run says so', async () => {
      const doomed = [...s.pd.state.users.values()].filter((u) => u.name.startsWith('Aa Filler')).slice(0, 600);
      for (const u of doomed) s.pd.admin.deleteUser(u.id);
      // New people keep the account over 10,000 users (else the listing is complete and archives normally).
      for (let i = 0; i < 700; i++) s.pd.admin.addUser({ name: `Aa Filler New ${String(i).padStart(3, '0')}`, email: `new.${i}@big.example` });
      s.pd.clearRequestLog();
      const run = await syncNow(s);
      expect(run.status).toBe('succeeded');
      expect(run.stats.users).toMatchObject({ looked_up: 0, archived: 0 });
      expect(run.warnings).toContain('users: 600 stored entries the listing did not reach were not checked one by one (a run checks at most 500); none of them was archived');
      expect(s.pd.requestLog().filter((e) => /^\/users\/P/.test(e.path))).toHaveLength(0);
      expect((await allEntries(s, 'PagerDutyUser')).map((e) => e.external_id)).toEqual(expect.arrayContaining(doomed.map((u) => u.id)));
    }, 150_000);
  });
}
