// Worker thread for bench/slack-declare.ts: the Slack emulator (the Web API Firebreak calls: views.open,
// conversations.create, chat.postMessage…) and its driver acting as the people. It runs on its own event loop
// so that its work (serving Firebreak's Web API calls, building and signing payloads, polling the workspace
// for channels) never delays the thread that times the acks. The driver's requests go to the main thread's
// relay (appUrl), which forwards them to Firebreak and times each one from its own socket.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { startSlackEmulator, type SlackEmulator } from '../emulators/slack/index.js';

export interface WorkerInit {
  latencyMs: number;
}
export type ToWorker = { kind: 'app-url'; url: string } | { kind: 'run'; from: number; count: number; phased?: boolean } | { kind: 'submit' } | { kind: 'stop' };
export interface PersonResult {
  i: number;
  cmdStatus: number;
  cmdTimedOut: boolean;
  /** What the driver saw, including the hop through the relay and this thread's own scheduling. */
  cmdDriverMs: number;
  /** Command sent → modal on screen (ack, then Firebreak's views.open). */
  modalMs: number;
  submitStatus: number | null;
  submitTimedOut: boolean;
  submitDriverMs: number;
  channelMs: number;
  headerMs: number;
}
export type FromWorker =
  | { kind: 'ready'; botToken: string; signingSecret: string; apiUrl: string; announcementsId: string }
  | { kind: 'done'; results: PersonResult[]; announced: number; webApiCalls: Record<string, number>; loopDelay: { p50: number; p99: number; max: number } }
  | { kind: 'stopped' }
  /** Phased runs: every command is acked and every modal open; the submissions wait for { kind: 'submit' }. */
  | { kind: 'modals-open' };

const port = parentPort!;
const init = workerData as WorkerInit;

async function waitFor<T>(fn: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

let modalSettled = () => {};

async function declareOne(emu: SlackEmulator, i: number, channelId: string, beforeSubmit: Promise<void> = Promise.resolve()): Promise<PersonResult> {
  const user = emu.addUser({ name: `bench${i}`, realName: `Bench Person ${i}`, email: `bench${i}@example.com` });
  const sent = performance.now();
  const cmd = await emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text: 'declare' });
  const view = cmd.status === 200 ? await waitFor(() => emu.openViews(user.id)[0], 10_000) : undefined;
  const base = { i, cmdStatus: cmd.status, cmdTimedOut: cmd.timedOut, cmdDriverMs: cmd.ackMs, modalMs: view ? performance.now() - sent : NaN };
  modalSettled();
  if (!view) return { ...base, submitStatus: null, submitTimedOut: false, submitDriverMs: NaN, channelMs: NaN, headerMs: NaN };
  await beforeSubmit;
  const submittedAt = performance.now();
  const submit = await emu.driver.submitView({ userId: user.id, viewId: view.id, values: { name: { value: `Bench ${i}` } } });
  const suffix = `-bench-${i}`;
  const channel = await waitFor(() => [...emu.state.channels.values()].find((c) => c.name.endsWith(suffix)), 60_000);
  const channelMs = performance.now() - submittedAt;
  const pinned = channel ? await waitFor(() => emu.messagesIn(channel.id).find((m) => m.pinned) ?? undefined, 60_000) : undefined;
  const headerMs = performance.now() - submittedAt;
  return { ...base, submitStatus: submit.status, submitTimedOut: submit.timedOut, submitDriverMs: submit.ackMs, channelMs: channel ? channelMs : NaN, headerMs: pinned ? headerMs : NaN };
}

const emu = await startSlackEmulator();
const announcements = emu.addChannel('incidents');
if (init.latencyMs > 0) emu.faults.latencyMs('*', init.latencyMs);
const general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;

port.on('message', (msg: ToWorker) => {
  if (msg.kind === 'app-url') emu.setAppUrl(msg.url);
  if (msg.kind === 'stop') void emu.stop().then(() => port.postMessage({ kind: 'stopped' } satisfies FromWorker));
  if (msg.kind === 'run') {
    void (async () => {
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const callsBefore = emu.callLog().length;
      // Phased: every person's modal opens (or fails) before anyone submits, so each phase's acks and Firebreak's
      // CPU can be read on their own.
      let go = () => {};
      const gate = msg.phased ? new Promise<void>((r) => (go = r)) : Promise.resolve();
      let settled = 0;
      modalSettled = () => {
        if (++settled === msg.count && msg.phased) port.postMessage({ kind: 'modals-open' } satisfies FromWorker);
      };
      const onSubmit = (m: ToWorker) => {
        if (m.kind === 'submit') go();
      };
      port.on('message', onSubmit);
      const results = await Promise.all(Array.from({ length: msg.count }, (_, k) => declareOne(emu, msg.from + k, general.id, gate)));
      port.off('message', onSubmit);
      lag.disable();
      const expected = msg.from + msg.count; // one announcement per incident declared so far (the warm-up's included)
      await waitFor(() => (emu.messagesIn(announcements.id).length >= expected ? true : undefined), 30_000);
      const webApiCalls: Record<string, number> = {};
      for (const c of emu.callLog().slice(callsBefore)) webApiCalls[c.method] = (webApiCalls[c.method] ?? 0) + 1;
      port.postMessage({
        kind: 'done',
        results,
        announced: emu.messagesIn(announcements.id).length,
        webApiCalls,
        loopDelay: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
      } satisfies FromWorker);
    })();
  }
});
port.postMessage({ kind: 'ready', botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsId: announcements.id } satisfies FromWorker);
