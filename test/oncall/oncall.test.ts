import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackUser } from '../../emulators/slack/index.js';
import { backends } from '../helpers.js';
import { waitFor } from '../escalations/helpers.js';
import { declareFromSlack, incidentChannel, person } from '../slack/stack.js';
import { onCallRequests, setupOnCall, T0, type OnCallSetup } from './helpers.js';

// "Who is on call now" end to end: Firebreak asks the PagerDuty emulator (which computes on-call from schedule
// layers and overrides at its clock) through the REST API, Slack's /incident oncall and the escalate modal.

const oncall = (s: OnCallSetup, q: string) => s.owner.get(`/api/v1/integrations/pagerduty/oncall?${q}`);
const names = (level: any) => level.people.map((p: any) => p.user.name);

for (const backend of backends) {
  describe(`who is on call now (${backend})`, () => {
    let s: OnCallSetup;
    beforeAll(async () => {
      s = await setupOnCall(backend);
    }, 180_000);
    afterAll(async () => s?.close());
    beforeEach(() => {
      s.fb.app.pagerduty.oncall.service.clear();
      s.pd.clock.set(T0);
      s.pd.faults.clear();
      s.pd.clearRequestLog();
    });

    it("a service answers with its policy's levels in order, by name, with the schedule's handoff and the Firebreak person matched by email", async () => {
      const r = await oncall(s, `service_id=${s.ids.service}`);
      expect(r.status).toBe(200);
      const a = r.body.oncall;
      expect(a.subject).toEqual({ type: 'service', id: s.ids.service, name: 'Payments API' });
      expect(a.state).toBe('ok');
      expect(a.policies).toHaveLength(1);
      const p = a.policies[0];
      expect(p.name).toBe('Payments Escalation');
      expect(p.levels.map((l: any) => [l.level, names(l)])).toEqual([
        [1, ['Alan Weber']],
        [2, ['Cem Yilmaz']],
      ]);
      const alan = p.levels[0].people[0];
      expect(Date.parse(alan.until)).toBe(Date.parse('2026-12-07T17:00:00Z'));
      expect(alan.via).toMatchObject({ type: 'schedule', id: s.ids.schedule, name: 'Payments Primary' });
      expect(alan.user.firebreak_user?.name).toBe('Alan Weber');
      expect(p.levels[1].people[0]).toMatchObject({ until: null, via: null, user: { firebreak_user: null } });
      expect(p.would_page).toBe('would page: Alan Weber (level 1), then Cem Yilmaz (level 2)');
      expect(a.summary).toBe('Payments Escalation: Level 1: Alan Weber (until 17:00 UTC via Payments Primary), level 2: Cem Yilmaz');
      // The request Firebreak sent: the policy's on-calls with users side-loaded.
      const sent = onCallRequests(s.pd).filter((e) => e.path === '/oncalls');
      expect(sent).toHaveLength(1);
      expect(JSON.stringify(sent[0]!.query)).toContain(s.ids.policy);
    });

    it('a team answers through the policies the catalog lists for it, a policy and a schedule directly', async () => {
      const team = (await oncall(s, `team_id=${s.ids.team}`)).body.oncall;
      expect(team.subject.name).toBe('Payments Crew');
      expect(team.policies.map((p: any) => p.name)).toEqual(['Payments Escalation']);
      expect(team.policies[0].levels.map(names)).toEqual([['Alan Weber'], ['Cem Yilmaz']]);
      const policy = (await oncall(s, `escalation_policy_id=${s.ids.policy}`)).body.oncall;
      expect(policy.subject.name).toBe('Payments Escalation');
      expect(policy.policies[0].levels.map(names)).toEqual([['Alan Weber'], ['Cem Yilmaz']]);
      const schedule = (await oncall(s, `schedule_id=${s.ids.schedule}`)).body.oncall;
      expect(schedule.subject.name).toBe('Payments Primary');
      expect(schedule.schedule.people.map((p: any) => [p.user.name, Date.parse(p.until)])).toEqual([['Alan Weber', Date.parse('2026-12-07T17:00:00Z')]]);
    });

    it('the answer changes when the rotation hands off, once the cached minute is over', async () => {
      s.pd.clock.set('2026-12-07T16:59:30Z');
      const before = (await oncall(s, `schedule_id=${s.ids.schedule}`)).body.oncall;
      expect(before.schedule.people.map((p: any) => p.user.name)).toEqual(['Alan Weber']);
      s.pd.clock.advance(45_000); // 17:00:15: PagerDuty now says Bea, Firebreak still has its answer from 45 s ago
      expect(s.pd.onCall(s.ids.schedule)).toBe(s.ids.bea);
      const cached = (await oncall(s, `schedule_id=${s.ids.schedule}`)).body.oncall;
      expect(cached.schedule.people.map((p: any) => p.user.name)).toEqual(['Alan Weber']);
      expect(onCallRequests(s.pd)).toHaveLength(1);
      s.pd.clock.advance(30_000); // 75 s after the first answer
      const after = (await oncall(s, `schedule_id=${s.ids.schedule}`)).body.oncall;
      expect(after.schedule.people.map((p: any) => [p.user.name, Date.parse(p.until)])).toEqual([['Bea Ortiz', Date.parse('2026-12-08T01:00:00Z')]]);
      expect(onCallRequests(s.pd)).toHaveLength(2);
    });

    it('an override wins over the rotation, for the schedule and for the policy that pages through it', async () => {
      const o = s.pd.admin.addScheduleOverride(s.ids.schedule, { start: '2026-12-07T09:30:00Z', end: '2026-12-07T12:00:00Z', user_id: s.ids.dana });
      try {
        const sched = (await oncall(s, `schedule_id=${s.ids.schedule}`)).body.oncall;
        expect(sched.schedule.people.map((p: any) => [p.user.name, Date.parse(p.until)])).toEqual([['Dana Stone', Date.parse('2026-12-07T12:00:00Z')]]);
        const svc = (await oncall(s, `service_id=${s.ids.service}`)).body.oncall;
        expect(svc.policies[0].would_page).toBe('would page: Dana Stone (level 1), then Cem Yilmaz (level 2)');
      } finally {
        s.pd.admin.deleteScheduleOverride(s.ids.schedule, o.id);
      }
    });

    it('a deleted schedule says so (PagerDuty 404), and the other lookups keep working', async () => {
      s.pd.admin.deleteSchedule(s.ids.oldSchedule);
      const gone = await oncall(s, `schedule_id=${s.ids.oldSchedule}`);
      expect(gone.status).toBe(200);
      expect(gone.body.oncall).toMatchObject({ state: 'unavailable', error: { code: 'not_found' }, schedule: null });
      // Named from the catalog, which still holds it until the next sync.
      expect(gone.body.oncall.error.message).toMatch(/^PagerDuty has no schedule “Old Rotation” \(\w+\): it was deleted/);
      expect(gone.body.oncall.summary).toBe(gone.body.oncall.error.message);
      const svc = (await oncall(s, `service_id=${s.ids.service}`)).body.oncall;
      expect(svc.state).toBe('ok');
      // Asked once: the failure is remembered a while rather than asked again at once.
      await oncall(s, `schedule_id=${s.ids.oldSchedule}`);
      expect(onCallRequests(s.pd).filter((e) => e.path === `/schedules/${s.ids.oldSchedule}`)).toHaveLength(1);
    });

    it('a 429 is told with the wait and not retried; a PagerDuty that does not answer in time is told too', async () => {
      s.pd.faults.set({ rateLimitBurst: 5 });
      const limited = (await oncall(s, `escalation_policy_id=${s.ids.policy}`)).body.oncall;
      expect(limited).toMatchObject({ state: 'unavailable', error: { code: 'rate_limited' } });
      expect(limited.error.message).toMatch(/request limit .*used up.*asks again in 15 s/);
      expect(onCallRequests(s.pd)).toHaveLength(1);
      s.pd.faults.clear();
      const tuning = s.fb.app.pagerduty.integration.lookupTuning;
      const was = tuning.timeoutMs;
      tuning.timeoutMs = 200;
      s.pd.faults.set({ answerDelayMs: 1_000 });
      try {
        const slow = (await oncall(s, `team_id=${s.ids.team}`)).body.oncall;
        expect(slow).toMatchObject({ state: 'unavailable', error: { code: 'timeout' } });
        expect(slow.error.message).toMatch(/did not answer in time/);
      } finally {
        tuning.timeoutMs = was;
        s.pd.faults.clear();
      }
    });

    it('refuses a query without exactly one subject, in the documented error shape', async () => {
      const none = await s.owner.get('/api/v1/integrations/pagerduty/oncall');
      expect(none.status).toBe(400);
      expect(none.body.error.code).toBe('validation_failed');
      const two = await oncall(s, `service_id=${s.ids.service}&team_id=${s.ids.team}`);
      expect(two.status).toBe(400);
      expect(two.body.error.details.fields.map((f: any) => f.path)).toEqual(['service_id', 'team_id']);
      const odd = await oncall(s, 'schedule_id=..%2Fusers');
      expect(odd.status).toBe(400);
    });

    describe('in Slack', () => {
      let alice: SlackUser;
      let general: string;
      const ask = async (text: string) => {
        const before = s.emu.ephemeralsFor(alice.id).length;
        await s.emu.driver.slashCommand({ userId: alice.id, channelId: general, command: '/incident', text });
        return waitFor(`the answer to /incident ${text}`, async () => {
          const all = s.emu.ephemeralsFor(alice.id);
          return all.length > before ? all.slice(before).map((e: any) => `${e.text}\n${JSON.stringify(e.blocks ?? [])}`).join('\n') : null;
        });
      };
      beforeAll(() => {
        alice = person(s.emu, 'Alice Ops');
        general = [...s.emu.state.channels.values()].find((c) => c.isGeneral)!.id;
      });

      it('/incident oncall <service> works outside incident channels and names who is on call by level (an exact name wins over longer ones)', async () => {
        const text = await ask('oncall Payments API');
        expect(text).toContain('On call now for Payments API* (service)');
        expect(text).toMatch(/Level 1: Alan Weber \(until <!date\^\d+\^\{time\}\|17:00 UTC> via Payments Primary\), level 2: Cem Yilmaz/);
      });

      it('without a name it shows how; an ambiguous or unknown name gets suggestions; a kind picks among namesakes', async () => {
        expect(await ask('oncall')).toMatch(/oncall <name>\* says who is on call now/);
        const many = await ask('oncall payments');
        expect(many).toMatch(/fits 5 things/);
        for (const n of ['Payments API (service)', 'Payments Crew (team)', 'Payments Escalation (escalation policy)', 'Payments Primary (schedule)', 'Payments API Gateway (service)']) expect(many).toContain(n);
        const unknown = await ask('oncall Paymints Crew');
        expect(unknown).toMatch(/Nothing in the PagerDuty catalog is called “Paymints Crew”.*Did you mean:/s);
        expect(unknown).toContain('Payments Crew (team)');
        expect(await ask('oncall team payments crew')).toContain('On call now for Payments Crew');
      });

      it('the escalate modal says whom a chosen policy would page', async () => {
        const stack = { emu: s.emu, fb: s.fb, owner: s.owner, announcements: null as never, stop: async () => {} };
        await declareFromSlack(stack, alice, { name: 'Payments failing' });
        const inc = (await s.owner.get('/api/v1/incidents')).body.incidents[0];
        const { channel } = await incidentChannel(stack, inc.number);
        await s.emu.driver.slashCommand({ userId: alice.id, channelId: channel.id, command: '/incident', text: 'escalate' });
        const view = await waitFor('the escalate modal', async () => s.emu.openViews(alice.id).find((v) => v.callbackId === 'firebreak_escalate'));
        expect(view.blocks.find((b: any) => b.block_id === 'policies')).toMatchObject({ dispatch_action: true });
        await s.emu.driver.selectOption({ userId: alice.id, viewId: view.id, blockId: 'policies', actionId: 'esc_policies', value: [{ value: s.ids.policy, text: 'Payments Escalation' }] });
        const updated = await waitFor('"would page" in the modal', async () => {
          const v = s.emu.openViews(alice.id).find((x) => x.id === view.id);
          const block = v?.blocks.find((b: any) => b.block_id === 'would_page') as any;
          return block ? block.elements.map((e: any) => e.text).join('\n') : null;
        });
        expect(updated).toBe('*Payments Escalation*: would page: Alan Weber (level 1), then Cem Yilmaz (level 2)');
        await s.emu.driver.closeView({ userId: alice.id, viewId: view.id });
      });
    });
  });
}
