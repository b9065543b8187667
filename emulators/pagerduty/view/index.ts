// The demo's PagerDuty view: a plain server-rendered page over the emulator's account (not PagerDuty's UI and not
// Firebreak's). Acting as a PagerDuty user goes through the emulator's actAs (like the phone app), triggering through
// its admin trigger (like a monitoring alert); both write log entries and send webhooks as PagerDuty does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PagerDutyEmulator } from '../index.js';
import { PdError } from '../index.js';

export interface PagerDutyViewOptions {
  firebreakUrl?: string;
  /** People to offer first in the "act as" list (the demo's Slack users). */
  people?: { pagerdutyId: string }[];
}

function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const LOG_TEXT: Record<string, string> = {
  trigger_log_entry: 'Triggered',
  acknowledge_log_entry: 'Acknowledged',
  resolve_log_entry: 'Resolved',
  assign_log_entry: 'Assigned',
  notify_log_entry: 'Notified',
  annotate_log_entry: 'Note added',
  escalate_log_entry: 'Escalated',
  unacknowledge_log_entry: 'Unacknowledged',
  reassign_log_entry: 'Reassigned',
  priority_change_log_entry: 'Priority changed',
};

export function installPagerDutyView(pd: PagerDutyEmulator, opts: PagerDutyViewOptions = {}): string {
  pd.setViewHandler(async (req, res, url) => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && (url.pathname === '/view' || url.pathname === '/view/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page(pd, opts, url.searchParams));
      return;
    }
    if (method === 'GET' && url.pathname === '/view/state') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ v: `${pd.state.incidents.size}:${pd.state.logEntries.length}` }));
      return;
    }
    if (method !== 'POST' || url.pathname !== '/view/act') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const f = await readForm(req);
    const as = f.get('as') ?? '';
    const incident = f.get('incident') ?? '';
    const action = f.get('action') ?? '';
    let note = '';
    let target = incident;
    try {
      const who = () => pd.actAs(as);
      if (action === 'acknowledge') who().acknowledge(incident);
      else if (action === 'resolve') who().resolve(incident);
      else if (action === 'note') {
        const text = (f.get('content') ?? '').trim();
        if (!text) note = 'Write a note first';
        else who().addNote(incident, text);
      } else if (action === 'escalate') who().escalate(incident, f.get('level') ? Number(f.get('level')) : undefined);
      else if (action === 'trigger') {
        const title = (f.get('title') ?? '').trim() || 'Demo alert';
        const created = pd.admin.triggerIncident({ service_id: f.get('service') ?? '', title, urgency: (f.get('urgency') as 'high' | 'low') || 'high' } as never);
        target = (created as { id: string }).id;
      } else note = 'Unknown action';
    } catch (e) {
      note = e instanceof PdError ? String((e.body as { error?: { message?: string; errors?: string[] } })?.error?.errors?.join('; ') || (e.body as { error?: { message?: string } })?.error?.message || 'Refused') : e instanceof Error ? e.message : String(e);
    }
    res.writeHead(303, { location: `/view?as=${encodeURIComponent(as)}&incident=${encodeURIComponent(target)}${note ? `&note=${encodeURIComponent(note)}` : ''}` });
    res.end();
  });
  return `${pd.baseUrl}/view`;
}

function page(pd: PagerDutyEmulator, opts: PagerDutyViewOptions, q: URLSearchParams): string {
  const s = pd.state;
  const first = new Set((opts.people ?? []).map((p) => p.pagerdutyId));
  const users = [...s.users.values()].sort((a, b) => Number(first.has(b.id)) - Number(first.has(a.id)) || a.name.localeCompare(b.name));
  const as = q.get('as') || users[0]?.id || '';
  const userName = (id: string | null | undefined) => (id ? s.users.get(id)?.name ?? id : '');
  const incidents = [...s.incidents.values()].sort((a, b) => b.incident_number - a.incident_number);
  const selected = s.incidents.get(q.get('incident') ?? '') ?? incidents[0];
  const services = [...s.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  const row = (i: (typeof incidents)[number]) =>
    `<tr class="${selected?.id === i.id ? 'on' : ''}"><td><a href="/view?as=${esc(as)}&incident=${esc(i.id)}">#${i.incident_number} ${esc(i.title)}</a></td><td><span class="st ${esc(i.status)}">${esc(i.status)}</span></td><td>${esc(s.services.get(i.service_id)?.name)}</td><td>${esc(i.assignments.map((a) => userName(a.user_id)).join(', ') || '—')}</td><td>${esc(i.urgency)}</td></tr>`;
  let detail = '<p class="muted">No incidents yet. Escalate from Firebreak, or trigger an alert below.</p>';
  if (selected) {
    const policy = s.escalationPolicies.get(selected.escalation_policy_id);
    const logs = s.logEntries.filter((e) => e.incident_id === selected.id).slice().sort((a, b) => b.created_at.localeCompare(a.created_at));
    const agent = (e: (typeof logs)[number]) => (e.agent ? (e.agent.type === 'user' ? userName(e.agent.id) : `service ${s.services.get(e.agent.id)?.name ?? e.agent.id}`) : '');
    const hid = `<input type="hidden" name="as" value="${esc(as)}"><input type="hidden" name="incident" value="${esc(selected.id)}">`;
    const open = selected.status !== 'resolved';
    detail = `<section class="detail"><h2>#${selected.incident_number} ${esc(selected.title)}</h2>
<p><span class="st ${esc(selected.status)}">${esc(selected.status)}</span> · service <b>${esc(s.services.get(selected.service_id)?.name)}</b> · policy <b>${esc(policy?.name)}</b>, level ${selected.escalation_level} · urgency ${esc(selected.urgency)}</p>
<p>Assigned to: <b>${esc(selected.assignments.map((a) => userName(a.user_id)).join(', ') || 'nobody')}</b>${selected.acknowledgements.length ? ` · acknowledged by ${esc(selected.acknowledgements.map((a) => userName(a.user_id)).join(', '))}` : ''}</p>
${open ? `<div class="acts">
<form method="post" action="/view/act">${hid}<input type="hidden" name="action" value="acknowledge"><button${selected.status === 'acknowledged' ? ' disabled' : ''}>Acknowledge</button></form>
<form method="post" action="/view/act">${hid}<input type="hidden" name="action" value="resolve"><button>Resolve</button></form>
<form method="post" action="/view/act">${hid}<input type="hidden" name="action" value="escalate"><select name="level" aria-label="Escalation level">${(policy?.escalation_rules ?? []).map((r, n) => `<option value="${n + 1}"${n + 1 === selected.escalation_level + 1 ? ' selected' : ''}>Level ${n + 1}: ${esc(r.targets.map((t) => (t.type === 'user' ? userName(t.id) : `schedule ${s.schedules.get(t.id)?.name ?? t.id}`)).join(', '))}</option>`).join('')}</select><button>Escalate</button></form>
</div>
<form method="post" action="/view/act" class="note-form">${hid}<input type="hidden" name="action" value="note"><input name="content" placeholder="Add a note" aria-label="Note"><button>Add note</button></form>` : ''}
${selected.status_updates?.length ? `<h3>Status updates</h3><ol class="log">${selected.status_updates.slice().reverse().map((u) => `<li><time>${esc(u.created_at.replace('T', ' ').slice(0, 19))} UTC</time> <b>${esc(userName(u.user_id))}</b>: “${esc(u.message)}”</li>`).join('')}</ol>` : ''}
<h3>Log</h3><ol class="log">${logs.map((e) => `<li><time>${esc(e.created_at.replace('T', ' ').slice(0, 19))} UTC</time> <b>${esc(LOG_TEXT[e.type] ?? e.type)}</b>${e.agent && e.type !== 'notify_log_entry' ? ` by ${esc(agent(e))}` : ''}${e.assignee_ids?.length ? ` → ${esc(e.assignee_ids.map(userName).join(', '))}` : ''}${e.user_id && e.type === 'notify_log_entry' ? ` ${esc(userName(e.user_id))}` : ''}${e.note ? `: “${esc(e.note)}”` : ''} <span class="muted">via ${esc(e.channel)}</span></li>`).join('')}</ol></section>`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo — PagerDuty emulator</title><style>${CSS}</style></head><body>
<header class="demo-banner"><strong>Demo — PagerDuty emulator</strong> <span>Not PagerDuty and not Firebreak's UI: a stand-in account. Actions here send PagerDuty's webhooks to Firebreak.</span>${opts.firebreakUrl ? ` <a href="${esc(opts.firebreakUrl)}" target="_blank">Open Firebreak</a>` : ''}</header>
<main>
<form method="get" action="/view" class="as"><label>Acting as PagerDuty user <select name="as" onchange="this.form.submit()">${users.map((u) => `<option value="${esc(u.id)}"${u.id === as ? ' selected' : ''}>${esc(u.name)}${first.has(u.id) ? ' (also in Slack)' : ''}</option>`).join('')}</select></label>${selected ? `<input type="hidden" name="incident" value="${esc(selected.id)}">` : ''}</form>
${q.get('note') ? `<p class="note" role="alert">${esc(q.get('note'))}</p>` : ''}
<div class="cols"><section><h2>Incidents</h2><table><thead><tr><th>Incident</th><th>Status</th><th>Service</th><th>Assigned to</th><th>Urgency</th></tr></thead><tbody>${incidents.map(row).join('') || '<tr><td colspan="5" class="muted">None</td></tr>'}</tbody></table>
<h3>Trigger an alert</h3><form method="post" action="/view/act" class="trigger"><input type="hidden" name="as" value="${esc(as)}"><input type="hidden" name="action" value="trigger">
<label>Service <select name="service">${services.map((sv) => `<option value="${esc(sv.id)}">${esc(sv.name)}</option>`).join('')}</select></label>
<label>Title <input name="title" value="High error rate"></label><label>Urgency <select name="urgency"><option>high</option><option>low</option></select></label><button>Trigger an alert</button></form></section>
${detail}</div></main>
<script>(function(){var last=null;setInterval(function(){if(document.activeElement&&/INPUT|SELECT/.test(document.activeElement.tagName))return;fetch('/view/state').then(function(r){return r.json()}).then(function(d){if(last!==null&&d.v!==last)location.reload();last=d.v})},1000)})();</script>
</body></html>`;
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#222}
.demo-banner{background:#06ac38;color:#fff;padding:8px 16px}.demo-banner span{opacity:.9;margin-left:8px}.demo-banner a{color:#fff;margin-left:12px}
main{padding:12px 20px}.cols{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:24px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #eee;vertical-align:top}tr.on{background:#eef7f0}
.st{border-radius:3px;padding:0 6px;color:#fff;font-size:12px}.st.triggered{background:#d0021b}.st.acknowledged{background:#f5a623}.st.resolved{background:#06ac38}
.acts{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}.acts form{display:flex;gap:4px}button{cursor:pointer;padding:4px 10px;font:inherit}
.note-form{display:flex;gap:4px;margin:8px 0}.note-form input{flex:1;padding:4px}.log{padding-left:18px}.log time{color:#666;font-size:12px}
.trigger label{display:block;margin:4px 0}.note{background:#fff4e5;border:1px solid #f0c36d;padding:6px 10px}.muted{color:#888}
`;
