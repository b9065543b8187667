import type { SlashCommand } from '@slack/bolt';
import type { SlackContext } from '../slack.context.js';
import type { OnCallKind, OnCallPort, OnCallPortAnswer, OnCallPortPerson } from './port.js';

// `/incident oncall [service | team | policy | schedule name]`: who is on call now, answered to the person alone
// (ephemeral), anywhere in Slack. Names come from the synced catalog; an exact name wins, a name that fits several
// things or nothing gets suggestions. A kind may lead the name to choose between namesakes (`team Payments`).

type Say = (msg: { text: string; blocks?: unknown[] }) => Promise<void>;

const KIND_WORDS: Record<string, OnCallKind> = { service: 'service', team: 'team', policy: 'escalation_policy', 'escalation-policy': 'escalation_policy', schedule: 'schedule' };
const KIND_LABEL: Record<OnCallKind, string> = { service: 'service', team: 'team', escalation_policy: 'escalation policy', schedule: 'schedule' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');

/** A time the reader sees in their own zone; the fallback is UTC. */
export function slackTime(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return esc(iso);
  const d = new Date(t);
  const fallback = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
  const soon = t - Date.now() < 24 * 3_600_000;
  return `<!date^${Math.floor(t / 1000)}^${soon ? '{time}' : '{date_short_pretty} {time}'}|${fallback}>`;
}

function who(p: OnCallPortPerson): string {
  const id = p.user.firebreakUser?.slackUserId;
  return id ? `${esc(p.user.name)} (<@${id}>)` : esc(p.user.name);
}

function personLine(p: OnCallPortPerson): string {
  const parts = [p.until ? `until ${slackTime(p.until)}` : null, p.via ? `via ${esc(p.via.name)}` : null].filter(Boolean);
  return parts.length ? `${who(p)} (${parts.join(' ')})` : who(p);
}

export function answerBlocks(a: OnCallPortAnswer): { text: string; blocks: unknown[] } {
  const head = `*On call now for ${esc(a.subject.name)}* (${KIND_LABEL[a.subject.kind]})`;
  const lines: string[] = [];
  if (a.error) lines.push(`:warning: ${esc(a.error.message)}`);
  else if (a.schedule) lines.push(a.schedule.people.length ? a.schedule.people.map(personLine).join('\n') : 'Nobody is on call on this schedule right now.');
  else {
    for (const p of a.policies) {
      const levels = p.levels.length ? p.levels.map((l, i) => `${i === 0 ? 'Level' : 'level'} ${l.level}: ${l.people.map(personLine).join(' and ')}`).join(', ') : 'nobody is on call';
      lines.push(a.policies.length > 1 || a.subject.kind !== 'escalation_policy' ? `*${esc(p.name)}*: ${levels}` : levels);
    }
  }
  if (a.note) lines.push(`_${esc(a.note)}_`);
  const body = lines.join('\n').slice(0, 2900);
  return { text: `${head}\n${body}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${head}\n${body}` } }] };
}

export function usageText(command: string, examples: string[]): string {
  return [
    `*${command} oncall <name>* says who is on call now, by escalation level, for a PagerDuty service, team, escalation policy or schedule (works in any channel; only you see the answer).`,
    `• \`${command} oncall Checkout API\`: by name`,
    `• \`${command} oncall team Payments\`: say which kind when names clash (service, team, policy, schedule)`,
    examples.length ? `Some names: ${examples.map((e) => `\`${esc(e)}\``).join(', ')}` : null,
  ]
    .filter(Boolean)
    .join('\n');
}

const listOf = (c: { kind: OnCallKind; name: string }[]) => c.slice(0, 8).map((x) => `• ${esc(x.name)} (${KIND_LABEL[x.kind]})`).join('\n');

export async function runOnCallCommand(ctx: SlackContext, port: OnCallPort | undefined, cmd: SlashCommand, arg: string, say: Say): Promise<void> {
  if (!port || !(await port.connected())) {
    return say({ text: `PagerDuty is not connected to Firebreak, so it cannot say who is on call. An admin can connect it in Firebreak: ${ctx.publicUrl().replace(/\/$/, '')}/settings/integrations.` });
  }
  let text = arg.trim();
  if (!text) return say({ text: usageText(cmd.command, (await port.search('', 3)).map((x) => x.name).slice(0, 6)) });
  let kind: OnCallKind | null = null;
  const firstWord = text.split(/\s+/)[0]!.toLowerCase();
  if (KIND_WORDS[firstWord] && text.includes(' ')) {
    kind = KIND_WORDS[firstWord]!;
    text = text.slice(firstWord.length).trim();
  }
  const found = (await port.search(text, 50)).filter((x) => !kind || x.kind === kind);
  const exact = found.filter((x) => norm(x.name) === norm(text));
  const pick = exact.length === 1 ? exact[0] : exact.length === 0 && found.length === 1 ? found[0] : undefined;
  if (!pick) {
    if (exact.length > 1 || found.length > 1) {
      const c = exact.length > 1 ? exact : found;
      return say({ text: `“${esc(text)}” fits ${c.length > 8 ? 'many things' : `${c.length} things`}; say which one, e.g. \`${cmd.command} oncall ${c[0]!.kind === 'escalation_policy' ? 'policy' : c[0]!.kind} ${esc(c[0]!.name)}\`:\n${listOf(c)}` });
    }
    // Nothing by that name: suggest names sharing a word with it.
    const words = text.split(/\s+/).filter((w) => w.length >= 3).slice(0, 3);
    const near = new Map<string, { kind: OnCallKind; id: string; name: string }>();
    for (const w of words) for (const x of await port.search(w, 5)) if (!kind || x.kind === kind) near.set(`${x.kind}:${x.id}`, x);
    const hint = near.size ? `Did you mean:\n${listOf([...near.values()])}` : `Try a service, team, escalation policy or schedule name; \`${cmd.command} oncall\` alone shows how.`;
    return say({ text: `Nothing in the PagerDuty catalog is called “${esc(text)}”${kind ? ` (${KIND_LABEL[kind]})` : ''}. ${hint}` });
  }
  const answer = await port.lookup(pick.kind, pick.id);
  return say(answerBlocks(answer));
}
