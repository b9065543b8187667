import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack/index.js';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { waitFor } from '../escalations/helpers.js';

// An account with a known on-call story, Firebreak connected to it (and to Slack), the catalog synced:
// team "Payments Crew" owns policy "Payments Escalation" (level 1: schedule "Payments Primary", an 8-hour rotation of
// Alan Weber then Bea Ortiz from 09:00 UTC; level 2: Cem Yilmaz directly), used by service "Payments API". A second
// schedule "Old Rotation" is there to be deleted. PagerDuty's on-call clock starts at Monday 2026-12-07 10:00 UTC and
// Firebreak's on-call cache reads the same clock, so tests move time for both.

export const T0 = '2026-12-07T10:00:00.000Z';

export interface OnCallSetup {
  fb: TestFirebreak;
  pd: PagerDutyEmulator;
  emu: SlackEmulator;
  owner: Client;
  ids: { alan: string; bea: string; cem: string; dana: string; team: string; schedule: string; oldSchedule: string; policy: string; service: string };
  alanEmail: string;
  close(): Promise<void>;
}

/** The on-call story above, added to the emulator's account; the clock set to T0. */
export function seedOnCallAccount(pd: PagerDutyEmulator): { ids: OnCallSetup['ids']; bot: { id: string }; alanEmail: string } {
  pd.clock.set(T0);
  const users = [...pd.state.users.values()];
  const [alan, bea, cem, dana] = [users[1]!, users[2]!, users[3]!, users[4]!];
  pd.admin.updateUser(alan.id, { name: 'Alan Weber' });
  pd.admin.updateUser(bea.id, { name: 'Bea Ortiz' });
  pd.admin.updateUser(cem.id, { name: 'Cem Yilmaz' });
  pd.admin.updateUser(dana.id, { name: 'Dana Stone' });
  const team = pd.admin.addTeam({ name: 'Payments Crew' });
  const schedule = pd.admin.addSchedule({ name: 'Payments Primary', time_zone: 'UTC', team_ids: [team.id], layers: [{ rotation_virtual_start: '2026-12-07T09:00:00Z', rotation_turn_length_seconds: 8 * 3600, users: [alan.id, bea.id] }] });
  const oldSchedule = pd.admin.addSchedule({ name: 'Old Rotation', time_zone: 'UTC', layers: [{ rotation_virtual_start: '2026-12-01T00:00:00Z', rotation_turn_length_seconds: 86_400, users: [dana.id] }] });
  const policy = pd.admin.addEscalationPolicy({ name: 'Payments Escalation', team_ids: [team.id], escalation_rules: [{ targets: [{ type: 'schedule', id: schedule.id }] }, { targets: [{ type: 'user', id: cem.id }] }] });
  const service = pd.admin.addService({ name: 'Payments API', escalation_policy_id: policy.id, team_ids: [team.id] });
  // A name that contains another: asking for "Payments API" must still mean the service of that exact name.
  pd.admin.addService({ name: 'Payments API Gateway', escalation_policy_id: policy.id, team_ids: [team.id] });
  return {
    ids: { alan: alan.id, bea: bea.id, cem: cem.id, dana: dana.id, team: team.id, schedule: schedule.id, oldSchedule: oldSchedule.id, policy: policy.id, service: service.id },
    bot: users[0]!,
    alanEmail: pd.state.users.get(alan.id)!.email.trim(),
  };
}

export async function setupOnCall(backend: 'sqlite' | 'postgres'): Promise<OnCallSetup> {
  const pd = await startCheckedPagerDuty({ port: 0, seed: 'small', rateLimitPerMinute: false });
  const { ids, bot, alanEmail } = seedOnCallAccount(pd);

  const emu = await startSlackEmulator();
  const announcements = emu.addChannel('incidents', { botIsMember: true });
  const fb = await startTestFirebreak(backend, { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } });
  emu.setAppUrl(`${fb.baseUrl}/slack/events`);
  const owner = await ownerClient(fb);
  // Alan has a Firebreak account (same email): answers name him as that person.
  const made = await owner.post('/api/v1/users', { name: 'Alan Weber', email: alanEmail, role: 'responder' });
  if (made.status !== 201) throw new Error(`user: ${made.status} ${JSON.stringify(made.body)}`);
  const r = await owner.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
  if (r.status !== 200) throw new Error(`connect: ${r.status} ${JSON.stringify(r.body)}`);
  const runId = r.body.last_run.id;
  await waitFor('the first sync', async () => {
    const run = (await owner.get(`/api/v1/catalog_sync_runs/${runId}`)).body.sync_run;
    return run && !['queued', 'running'].includes(run.status);
  }, 120_000);
  fb.app.pagerduty.oncall.service.now = () => pd.clock.now().getTime();
  return {
    fb,
    pd,
    emu,
    owner,
    ids,
    alanEmail,
    async close() {
      await fb.destroy();
      await pd.stop();
      await emu.stop();
    },
  };
}

/** `GET /oncalls` and `GET /schedules/{id}` requests Firebreak sent since the log was cleared. */
export function onCallRequests(pd: PagerDutyEmulator) {
  return pd.requestLog().filter((e) => e.method === 'GET' && (e.path === '/oncalls' || e.path.startsWith('/schedules/') || e.path.startsWith('/services/')));
}
