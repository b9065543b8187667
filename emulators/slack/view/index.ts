// The demo's Slack view: a plain server-rendered page (no Firebreak code) that shows the emulated workspace and lets
// a person act in it. Every action goes to the app through the emulator's driver, i.e. as Slack's signed requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlackEmulator, SlackView } from '../index.js';
import { SlackDriverError } from '../index.js';
import { esc, mrkdwn, plain, renderBlocks, renderModal } from './render.js';

export interface SlackViewOptions {
  firebreakUrl?: string;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Installs the view on the emulator; returns its address. */
export function installSlackView(emu: SlackEmulator, opts: SlackViewOptions = {}): string {
  const people = () => [...emu.state.users.values()].filter((u) => !u.isBot && u.id !== 'USLACKBOT');
  const back = (res: ServerResponse, as: string, channel: string, note?: string) => {
    res.writeHead(303, { location: `/view?as=${encodeURIComponent(as)}&channel=${encodeURIComponent(channel)}${note ? `&note=${encodeURIComponent(note)}` : ''}` });
    res.end();
  };
  // After an action, give the app a moment to open a modal or post, so the next page shows it.
  const settle = async (as: string, before: number) => {
    for (let i = 0; i < 30; i++) {
      if (emu.openViews(as).length !== before) return;
      await sleep(50);
    }
  };
  const attempt = async (fn: () => Promise<{ status: number; timedOut?: boolean; error?: string }>): Promise<string | undefined> => {
    try {
      const r = await fn();
      if (r.timedOut) return 'The app did not answer within 3 seconds';
      if (r.status && r.status >= 400) return `The app answered ${r.status}`;
      return undefined;
    } catch (e) {
      if (e instanceof SlackDriverError) return e.message;
      throw e;
    }
  };

  emu.setViewHandler(async (req, res, url) => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'GET' && (path === '/view' || path === '/view/')) {
      const all = people();
      const as = url.searchParams.get('as') || all[0]?.id || '';
      const channels = [...emu.state.channels.values()].filter((c) => !c.isArchived && (c.isIm ? c.imUser === as : !c.isPrivate || c.members.includes(as)));
      const channelId = url.searchParams.get('channel') || channels.find((c) => c.name === 'incidents')?.id || channels[0]?.id || '';
      const html = page(emu, { as, channelId, channels, note: url.searchParams.get('note'), firebreakUrl: opts.firebreakUrl });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    if (method === 'GET' && path === '/view/options') {
      const q = url.searchParams;
      let options: unknown[] = [];
      try {
        const r = await emu.driver.optionsRequest({ userId: q.get('as')!, viewId: q.get('view')!, blockId: q.get('block')!, actionId: q.get('action')!, value: q.get('q') ?? '' });
        const body = r.body as { options?: unknown[]; option_groups?: { options: unknown[] }[] } | undefined;
        options = body?.options ?? body?.option_groups?.flatMap((g) => g.options) ?? [];
      } catch {
        options = [];
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ options: options.map((o: any) => ({ value: o.value, text: plain(o.text) })) }));
      return;
    }
    if (method === 'GET' && path === '/view/state') {
      // A cheap fingerprint so the page can reload itself when something changes.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ v: `${emu.state.messages.length}:${emu.state.ephemerals.length}:${[...emu.state.views.values()].filter((v) => v.isOpen).map((v) => v.id + v.hash).join(',')}:${emu.state.channels.size}:${emu.state.messages.filter((m) => m.edited).length}` }));
      return;
    }
    if (method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const f = await readForm(req);
    const as = f.get('as') ?? '';
    const channel = f.get('channel') ?? '';
    const before = emu.openViews(as).length;
    let note: string | undefined;
    if (path === '/view/send') {
      const text = (f.get('text') ?? '').trim();
      if (text.startsWith('/')) {
        const sp = text.indexOf(' ');
        const command = sp === -1 ? text : text.slice(0, sp);
        note = await attempt(() => emu.driver.slashCommand({ userId: as, channelId: channel, command, text: sp === -1 ? '' : text.slice(sp + 1) }));
      } else if (text) {
        emu.driver.postMessageAs(as, channel, text);
        await emu.driver.flush();
      }
    } else if (path === '/view/click' || path === '/view/select') {
      const viewId = f.get('view') || undefined;
      const common = { userId: as, actionId: f.get('action')!, blockId: f.get('block') || undefined, ...(viewId ? { viewId } : { channelId: channel, messageTs: f.get('ts') || undefined }) };
      if (path === '/view/click') note = await attempt(() => emu.driver.clickButton({ ...common, value: f.get('value') || undefined }));
      else note = await attempt(() => emu.driver.selectOption({ ...common, value: f.get('value') ?? '' }));
    } else if (path === '/view/submit') {
      const view = emu.state.views.get(f.get('view') ?? '');
      if (!view) note = 'That dialog is gone';
      else note = await attempt(() => emu.driver.submitView({ userId: as, viewId: view.id, values: formValues(view, f) as never }));
    } else if (path === '/view/close') {
      note = await attempt(() => emu.driver.closeView({ userId: as, viewId: f.get('view') ?? '' }) as never);
    }
    await settle(as, before);
    back(res, as, channel, note);
  });
  return `${emu.url}/view`;
}

/** The modal's form fields back into the driver's short forms (`v.<block_id>.<action_id>`). */
function formValues(view: SlackView, f: URLSearchParams): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const b of view.blocks) {
    if (b.type !== 'input' || !b.element) continue;
    const el = b.element;
    const key = `v.${b.block_id}.${el.action_id}`;
    const all = f.getAll(key).filter((v) => v !== '');
    let v: unknown;
    switch (el.type) {
      case 'checkboxes':
      case 'multi_static_select':
      case 'multi_users_select':
      case 'multi_conversations_select':
      case 'multi_channels_select':
        v = all;
        break;
      case 'multi_external_select':
        v = all.map((x) => ({ value: x, text: f.get(`${key}.text.${x}`) ?? x }));
        break;
      case 'external_select':
        v = all[0] ? { value: all[0], text: f.get(`${key}.text.${all[0]}`) ?? all[0] } : null;
        break;
      default:
        v = all[0] ?? null;
    }
    if (v === null && !f.has(key)) continue;
    (out[b.block_id] ??= {})[el.action_id] = v;
  }
  return out;
}

function page(emu: SlackEmulator, p: { as: string; channelId: string; channels: ReturnType<SlackEmulator['state']['channels']['get']>[]; note: string | null; firebreakUrl?: string }): string {
  const users = [...emu.state.users.values()];
  const nameOf = (id: string) => users.find((u) => u.id === id)?.realName || users.find((u) => u.id === id)?.name || id;
  const channelName = (id: string) => {
    const c = emu.state.channels.get(id);
    return c ? (c.isIm ? `DM with ${nameOf(c.imUser ?? '')}` : `#${c.name}`) : id;
  };
  const ctx = { nameOf, channelName, asChannel: `<input type="hidden" name="as" value="${esc(p.as)}"><input type="hidden" name="channel" value="${esc(p.channelId)}">` };
  const channel = emu.state.channels.get(p.channelId);
  const messages = channel ? emu.messagesIn(channel.id) : [];
  const ephemerals = emu.ephemeralsFor(p.as).filter((e) => e.channel === p.channelId && !(e as { deleted?: boolean }).deleted);
  const items = [
    ...messages.map((m) => ({ ts: m.ts, html: messageHtml({ who: m.botId ? 'Firebreak (app)' : nameOf(m.user ?? ''), text: m.text, blocks: m.blocks, ts: m.ts, pinned: m.pinned, thread: m.threadTs && m.threadTs !== m.ts, ephemeral: false }, ctx) })),
    ...ephemerals.map((e) => ({ ts: e.ts, html: messageHtml({ who: 'Firebreak (app)', text: e.text, blocks: e.blocks as any[], ts: e.ts, pinned: false, thread: false, ephemeral: true }, ctx) })),
  ].sort((a, b) => Number(a.ts) - Number(b.ts));
  const modal = emu.openViews(p.as).filter((v) => v.type === 'modal').at(-1);
  const people = users.filter((u) => !u.isBot && u.id !== 'USLACKBOT');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo — Slack emulator</title>
<style>${CSS}</style></head><body>
<header class="demo-banner"><strong>Demo — Slack emulator</strong> <span>Not Slack and not Firebreak's UI: a stand-in workspace. Everything you do here reaches Firebreak as Slack's signed requests.</span>${p.firebreakUrl ? ` <a href="${esc(p.firebreakUrl)}" target="_blank">Open Firebreak</a>` : ''}</header>
<div class="layout"><nav>
<form method="get" action="/view" class="as"><label>You are <select name="as" onchange="this.form.submit()">${people.map((u) => `<option value="${esc(u.id)}"${u.id === p.as ? ' selected' : ''}>${esc(u.realName || u.name)}</option>`).join('')}</select></label><input type="hidden" name="channel" value="${esc(p.channelId)}"></form>
<h3>Channels</h3><ul>${p.channels.filter((c) => c && !c.isIm).map((c) => `<li><a class="${c!.id === p.channelId ? 'on' : ''}" href="/view?as=${esc(p.as)}&channel=${esc(c!.id)}">#${esc(c!.name)}</a></li>`).join('')}</ul>
<h3>Direct messages</h3><ul>${p.channels.filter((c) => c && c.isIm).map((c) => `<li><a class="${c!.id === p.channelId ? 'on' : ''}" href="/view?as=${esc(p.as)}&channel=${esc(c!.id)}">Firebreak</a></li>`).join('') || '<li class="muted">none yet</li>'}</ul>
</nav><main>
<h2>${channel ? esc(channelName(channel.id)) : 'No channel'}</h2>${channel?.topic?.value ? `<p class="topic">${mrkdwn(channel.topic.value, ctx)}</p>` : ''}
${p.note ? `<p class="note" role="alert">${esc(p.note)}</p>` : ''}
<div class="messages" id="messages">${items.map((i) => i.html).join('') || '<p class="muted">No messages yet.</p>'}</div>
<form method="post" action="/view/send" class="compose"><input type="hidden" name="as" value="${esc(p.as)}"><input type="hidden" name="channel" value="${esc(p.channelId)}">
<input name="text" id="compose" autocomplete="off" placeholder="Message ${channel ? esc(channelName(channel.id)) : ''}, or /incident declare" aria-label="Message"><button type="submit">Send</button></form>
</main></div>
${modal ? renderModal(modal, p.as, p.channelId, ctx) : ''}
<script>${JS}</script>
</body></html>`;
}

function messageHtml(m: { who: string; text: string; blocks?: any[]; ts: string; pinned?: boolean; thread?: boolean | string; ephemeral: boolean }, ctx: Parameters<typeof renderBlocks>[1] & { asChannel: string }): string {
  const time = new Date(Number(m.ts) * 1000).toISOString().slice(11, 16);
  const body = m.blocks && m.blocks.length ? renderBlocks(m.blocks, ctx, { ts: m.ts }, ctx.asChannel) : `<div class="text">${mrkdwn(m.text ?? '', ctx)}</div>`;
  return `<article class="msg${m.ephemeral ? ' ephemeral' : ''}${m.thread ? ' thread' : ''}" data-ts="${esc(m.ts)}"><div class="meta"><b>${esc(m.who)}</b> <time>${time} UTC</time>${m.pinned ? ' <span class="tag">pinned</span>' : ''}${m.ephemeral ? ' <span class="tag">only visible to you</span>' : ''}${m.thread ? ' <span class="tag">in thread</span>' : ''}</div>${body}</article>`;
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d1c1d;background:#fff}
.demo-banner{background:#4a154b;color:#fff;padding:8px 16px}.demo-banner span{opacity:.85;margin-left:8px}.demo-banner a{color:#fff;margin-left:12px}
.layout{display:flex;min-height:calc(100vh - 40px)}nav{width:240px;background:#3f0e40;color:#e9d8ea;padding:12px}
nav a{color:#e9d8ea;text-decoration:none;display:block;padding:2px 6px;border-radius:4px}nav a.on{background:#1164a3;color:#fff}
nav ul{list-style:none;margin:0 0 12px;padding:0}nav h3{font-size:12px;text-transform:uppercase;margin:14px 0 4px;opacity:.8}
.as select{width:100%;margin-top:4px}main{flex:1;padding:12px 20px;display:flex;flex-direction:column;max-width:900px}
.messages{flex:1}.msg{padding:8px 0;border-bottom:1px solid #eee}.msg.ephemeral{background:#f8f8f8;padding:8px}.msg.thread{margin-left:32px}
.meta time{color:#666;font-size:12px}.tag{font-size:11px;background:#eee;border-radius:3px;padding:0 4px;color:#555}
.text,.section{white-space:pre-wrap;margin:4px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px;margin:4px 0}
.context{color:#616061;font-size:12px;margin:4px 0}.header{font-weight:700;font-size:16px;margin:6px 0}
.actions{display:flex;gap:6px;flex-wrap:wrap;margin:6px 0}.actions form{display:inline}
button{cursor:pointer;border:1px solid #bbb;background:#fff;border-radius:4px;padding:4px 10px;font:inherit}
button.primary{background:#007a5a;color:#fff;border-color:#007a5a}button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.compose{display:flex;gap:6px;margin-top:12px;position:sticky;bottom:0;background:#fff;padding:8px 0}.compose input{flex:1;padding:8px;font:inherit}
code{background:#f2f2f2;padding:0 3px;border-radius:3px}.note{background:#fff4e5;border:1px solid #f0c36d;padding:6px 10px}.muted{color:#888}
.topic{color:#555;margin-top:-8px}.modal-bg{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:flex-start;justify-content:center;overflow:auto;padding:40px 0}
.modal{background:#fff;border-radius:8px;width:560px;max-width:95vw;padding:16px 20px}.modal h2{margin:0 0 10px}
.modal label{display:block;font-weight:600;margin-top:10px}.modal .hint{font-weight:400;color:#666;font-size:12px}
.modal input[type=text],.modal textarea,.modal select{width:100%;padding:6px;font:inherit;margin-top:4px}.modal .err{color:#e01e5a;font-size:12px}
.modal .buttons{display:flex;justify-content:flex-end;gap:8px;margin-top:16px}.ext-results{border:1px solid #ddd;max-height:160px;overflow:auto}
.ext-results div{padding:3px 6px;cursor:pointer}.ext-results div:hover{background:#eef}.picked span{display:inline-block;background:#e8f0fe;border-radius:3px;padding:1px 6px;margin:2px}
`;

const JS = `
(function(){
  var box=document.getElementById('compose');
  var m=document.getElementById('messages'); if(m) window.scrollTo(0,document.body.scrollHeight);
  // External selects: type to search, options come from the app (block_suggestion through the driver).
  document.querySelectorAll('[data-external]').forEach(function(w){
    var q=w.querySelector('input.ext-q'), list=w.querySelector('.ext-results'), picked=w.querySelector('.picked'), multi=w.dataset.multi==='1', name=w.dataset.name;
    var t=null;
    function load(){
      var u='/view/options?as='+encodeURIComponent(w.dataset.as)+'&view='+encodeURIComponent(w.dataset.view)+'&block='+encodeURIComponent(w.dataset.block)+'&action='+encodeURIComponent(w.dataset.action)+'&q='+encodeURIComponent(q.value);
      fetch(u).then(function(r){return r.json()}).then(function(d){
        list.innerHTML='';
        d.options.forEach(function(o){var el=document.createElement('div');el.textContent=o.text;el.setAttribute('role','option');el.onclick=function(){pick(o)};list.appendChild(el)});
        if(!d.options.length){list.innerHTML='<div class="muted">No matches (type at least 3 letters)</div>'}
      });
    }
    function pick(o){
      if(!multi) picked.innerHTML='';
      var s=document.createElement('span');s.textContent=o.text;
      var h=document.createElement('input');h.type='hidden';h.name=name;h.value=o.value;h.setAttribute('form','modal-form');
      var h2=document.createElement('input');h2.type='hidden';h2.name=name+'.text.'+o.value;h2.value=o.text;h2.setAttribute('form','modal-form');
      s.appendChild(h);s.appendChild(h2);picked.appendChild(s);list.innerHTML='';q.value='';
    }
    q.addEventListener('input',function(){clearTimeout(t);t=setTimeout(load,250)});
    q.addEventListener('focus',load);
  });
  // Reload when the workspace changes, unless the person is typing or has a dialog open.
  var last=null;
  setInterval(function(){
    if(document.querySelector('.modal')) return;
    if(box && (box===document.activeElement && box.value)) return;
    fetch('/view/state').then(function(r){return r.json()}).then(function(d){ if(last!==null && d.v!==last) location.reload(); last=d.v; });
  },1000);
})();
`;
