// Block Kit as readable HTML for the demo's Slack view: sections, fields, context, headers, dividers, buttons and
// selects (each a small form posting to the view, which acts through the driver), and modals' input blocks as a form.
import type { SlackView } from '../index.js';

export interface RenderContext {
  nameOf(userId: string): string;
  channelName(channelId: string): string;
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Text of a text object (plain_text or mrkdwn), unformatted. */
export function plain(t: unknown): string {
  if (t == null) return '';
  if (typeof t === 'string') return t;
  return String((t as { text?: unknown }).text ?? '');
}

/** Slack's mrkdwn basics: links, mentions, *bold*, _italic_, ~strike~, `code`, ```blocks```, > quotes. */
export function mrkdwn(src: string, ctx: RenderContext): string {
  const tokens: string[] = [];
  const keep = (html: string) => `\u0000${tokens.push(html) - 1}\u0000`;
  let s = src.replace(/```([\s\S]*?)```/g, (_m, code: string) => keep(`<pre><code>${esc(code)}</code></pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_m, code: string) => keep(`<code>${esc(code)}</code>`));
  s = s.replace(/<([^>\n]+)>/g, (_m, inner: string) => {
    const [target, label] = inner.split('|') as [string, string | undefined];
    if (target.startsWith('@')) return keep(`<b class="mention">@${esc(ctx.nameOf(target.slice(1)))}</b>`);
    if (target.startsWith('#')) return keep(`<b class="mention">${esc(label ? `#${label}` : ctx.channelName(target.slice(1)))}</b>`);
    if (target.startsWith('!')) return keep(`<b>@${esc(label ?? target.slice(1))}</b>`);
    return keep(`<a href="${esc(target)}" target="_blank" rel="noopener">${esc(label ?? target)}</a>`);
  });
  // Slack escapes &, < and > in text; undo that before escaping for HTML.
  s = esc(s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  s = s.replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1<b>$2</b>').replace(/(^|[\s(])_([^_\n]+)_/g, '$1<i>$2</i>').replace(/(^|[\s(])~([^~\n]+)~/g, '$1<s>$2</s>');
  s = s.replace(/(^|\n)&gt; ?([^\n]*)/g, '$1<q>$2</q>');
  s = s.replace(/:([a-z0-9_+-]+):/g, (m, name: string) => EMOJI[name] ?? m);
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => tokens[Number(i)]!);
}

// A few common shortcodes; others stay as written.
const EMOJI: Record<string, string> = {
  white_check_mark: '✅', heavy_check_mark: '✔️', warning: '⚠️', rotating_light: '🚨', fire: '🔥', x: '❌', pager: '📟',
  eyes: '👀', bell: '🔔', memo: '📝', link: '🔗', large_green_circle: '🟢', red_circle: '🔴', large_yellow_circle: '🟡',
  information_source: 'ℹ️', hourglass_flowing_sand: '⏳', tada: '🎉', thumbsup: '👍', '+1': '👍', arrow_up: '⬆️',
};

function text(t: any, ctx: RenderContext): string {
  if (!t) return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text ?? '', ctx) : esc(t.text ?? '');
}

interface Where {
  ts?: string;
  viewId?: string;
}

function hidden(where: Where, block: any, el: any): string {
  return `${where.ts ? `<input type="hidden" name="ts" value="${esc(where.ts)}">` : ''}${where.viewId ? `<input type="hidden" name="view" value="${esc(where.viewId)}">` : ''}<input type="hidden" name="block" value="${esc(block.block_id ?? '')}"><input type="hidden" name="action" value="${esc(el.action_id ?? '')}">`;
}

/** An interactive element in a message (or a modal's actions block). Forms get as/channel filled in by the page. */
function element(el: any, block: any, where: Where, ctx: RenderContext): string {
  const head = (action: string) => `<form method="post" action="${action}" class="el">${AS_CHANNEL}${hidden(where, block, el)}`;
  switch (el.type) {
    case 'button':
      return `${head('/view/click')}<input type="hidden" name="value" value="${esc(el.value ?? '')}"><button type="submit" class="${el.style === 'primary' ? 'primary' : el.style === 'danger' ? 'danger' : ''}">${esc(plain(el.text))}</button></form>`;
    case 'static_select':
    case 'overflow':
    case 'radio_buttons': {
      const opts = (el.options ?? el.option_groups?.flatMap((g: any) => g.options) ?? []) as any[];
      return `${head('/view/select')}<select name="value" onchange="this.form.submit()" aria-label="${esc(plain(el.placeholder) || 'Choose')}"><option value="">${esc(plain(el.placeholder) || (el.type === 'overflow' ? '⋯' : 'Choose…'))}</option>${opts.map((o) => `<option value="${esc(o.value)}">${esc(plain(o.text))}</option>`).join('')}</select></form>`;
    }
    case 'users_select':
    case 'conversations_select':
    case 'channels_select':
    case 'external_select':
      return `<span class="tag">${esc(plain(el.placeholder) || el.type)} (select in a dialog)</span>`;
    case 'image':
      return `<span class="tag">[image: ${esc(el.alt_text ?? '')}]</span>`;
    default:
      return el.text ? `<span>${text(el.text, ctx)}</span>` : `<span class="tag">${esc(el.type)}</span>`;
  }
}

// Replaced by the page with the current person and channel.
const AS_CHANNEL = '<!--as-channel-->';

export function renderBlocks(blocks: any[], ctx: RenderContext, where: Where, asChannel?: string): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'section':
        out.push(
          `<div class="section">${text(b.text, ctx)}${b.fields ? `<div class="fields">${b.fields.map((f: any) => `<div>${text(f, ctx)}</div>`).join('')}</div>` : ''}${b.accessory ? `<div class="actions">${element(b.accessory, b, where, ctx)}</div>` : ''}</div>`,
        );
        break;
      case 'header':
        out.push(`<div class="header">${esc(plain(b.text))}</div>`);
        break;
      case 'context':
        out.push(`<div class="context">${(b.elements ?? []).map((e: any) => (e.type === 'image' ? `[${esc(e.alt_text)}]` : text(e, ctx))).join(' · ')}</div>`);
        break;
      case 'divider':
        out.push('<hr>');
        break;
      case 'actions':
        out.push(`<div class="actions">${(b.elements ?? []).map((e: any) => element(e, b, where, ctx)).join('')}</div>`);
        break;
      case 'rich_text':
        out.push(`<div class="text">${esc(richText(b))}</div>`);
        break;
      case 'image':
        out.push(`<div class="context">[image: ${esc(b.alt_text ?? '')}]</div>`);
        break;
      case 'input':
        break;
      default:
        out.push(`<div class="context">[${esc(b.type)} block]</div>`);
    }
  }
  const html = out.join('');
  return asChannel === undefined ? html.replaceAll(AS_CHANNEL, '<!--as-channel-->') : html.replaceAll(AS_CHANNEL, asChannel);
}

function richText(b: any): string {
  const walk = (n: any): string => (typeof n?.text === 'string' ? n.text : Array.isArray(n?.elements) ? n.elements.map(walk).join('') : '');
  return walk(b);
}

/** The open modal on top, as a form: input blocks become fields named `v.<block_id>.<action_id>`. */
export function renderModal(view: SlackView, as: string, channelId: string, ctx: RenderContext): string {
  const asChannel = `<input type="hidden" name="as" value="${esc(as)}"><input type="hidden" name="channel" value="${esc(channelId)}">`;
  const where = { viewId: view.id };
  const parts: string[] = [];
  for (const b of view.blocks) {
    if (b.type !== 'input') {
      // Buttons and selects in a modal's own blocks act at once (block_actions from the view).
      parts.push(`<div class="modal-block">${renderBlocks([b], ctx, where, asChannel)}</div>`);
      continue;
    }
    const el = b.element ?? {};
    const name = `v.${b.block_id}.${el.action_id}`;
    const current = view.stateValues?.[b.block_id]?.[el.action_id];
    const err = view.errors?.[b.block_id];
    const label = `<label for="${esc(name)}">${esc(plain(b.label))}${b.optional ? ' <span class="hint">(optional)</span>' : ''}</label>${b.hint ? `<div class="hint">${esc(plain(b.hint))}</div>` : ''}`;
    let field: string;
    switch (el.type) {
      case 'plain_text_input':
      case 'email_text_input':
      case 'url_text_input':
      case 'number_input': {
        const v = current?.value ?? el.initial_value ?? '';
        field = el.multiline
          ? `<textarea id="${esc(name)}" name="${esc(name)}" rows="4" form="modal-form">${esc(v)}</textarea>`
          : `<input type="text" id="${esc(name)}" name="${esc(name)}" value="${esc(v)}" form="modal-form" placeholder="${esc(plain(el.placeholder))}">`;
        break;
      }
      case 'static_select':
      case 'multi_static_select':
      case 'radio_buttons':
      case 'checkboxes': {
        const opts = (el.options ?? el.option_groups?.flatMap((g: any) => g.options) ?? []) as any[];
        const chosen = new Set<string>([
          ...(current?.selected_option ? [current.selected_option.value] : []),
          ...((current?.selected_options ?? []) as any[]).map((o) => o.value),
          ...(el.initial_option && !current ? [el.initial_option.value] : []),
          ...((!current && el.initial_options) || []).map((o: any) => o.value),
        ]);
        if (el.type === 'radio_buttons' || el.type === 'checkboxes') {
          const t = el.type === 'radio_buttons' ? 'radio' : 'checkbox';
          field = opts.map((o) => `<div><input type="${t}" form="modal-form" name="${esc(name)}" value="${esc(o.value)}"${chosen.has(o.value) ? ' checked' : ''}> ${text(o.text, ctx)}</div>`).join('');
        } else {
          const multi = el.type === 'multi_static_select';
          field = `<select id="${esc(name)}" name="${esc(name)}" form="modal-form"${multi ? ' multiple' : ''}>${multi ? '' : `<option value="">${esc(plain(el.placeholder) || 'Choose…')}</option>`}${opts.map((o) => `<option value="${esc(o.value)}"${chosen.has(o.value) ? ' selected' : ''}>${esc(plain(o.text))}</option>`).join('')}</select>`;
        }
        break;
      }
      case 'external_select':
      case 'multi_external_select': {
        const multi = el.type === 'multi_external_select';
        const initial = [...(current?.selected_option ? [current.selected_option] : []), ...((current?.selected_options ?? []) as any[]), ...(!current && el.initial_option ? [el.initial_option] : []), ...((!current && el.initial_options) || [])];
        field = `<div data-external="1" data-multi="${multi ? '1' : '0'}" data-name="${esc(name)}" data-as="${esc(as)}" data-view="${esc(view.id)}" data-block="${esc(b.block_id)}" data-action="${esc(el.action_id)}">
<div class="picked">${initial.map((o: any) => `<span>${esc(plain(o.text))}<input type="hidden" form="modal-form" name="${esc(name)}" value="${esc(o.value)}"><input type="hidden" form="modal-form" name="${esc(name)}.text.${esc(o.value)}" value="${esc(plain(o.text))}"></span>`).join('')}</div>
<input type="text" class="ext-q" id="${esc(name)}" placeholder="${esc(plain(el.placeholder) || 'Type to search')}" autocomplete="off"><div class="ext-results" role="listbox"></div></div>`;
        break;
      }
      case 'users_select':
      case 'multi_users_select':
        field = `<input type="text" id="${esc(name)}" name="${esc(name)}" form="modal-form" placeholder="Slack user id (U…)">`;
        break;
      case 'conversations_select':
      case 'channels_select':
        field = `<input type="text" id="${esc(name)}" name="${esc(name)}" form="modal-form" placeholder="Channel id (C…)">`;
        break;
      case 'datepicker':
        field = `<input type="date" id="${esc(name)}" name="${esc(name)}" form="modal-form" value="${esc(current?.selected_date ?? el.initial_date ?? '')}">`;
        break;
      case 'timepicker':
        field = `<input type="time" id="${esc(name)}" name="${esc(name)}" form="modal-form" value="${esc(current?.selected_time ?? el.initial_time ?? '')}">`;
        break;
      default:
        field = `<input type="text" id="${esc(name)}" name="${esc(name)}" form="modal-form">`;
    }
    parts.push(`<div class="input">${label}${field}${err ? `<div class="err" role="alert">${esc(err)}</div>` : ''}</div>`);
  }
  // The submit form is empty and fields join it with form="modal-form", so buttons inside the modal keep their own forms.
  return `<div class="modal-bg"><div class="modal" role="dialog" aria-label="${esc(plain(view.title))}"><h2>${esc(plain(view.title))}</h2>
${parts.join('')}
<form id="modal-form" method="post" action="/view/submit">${asChannel}<input type="hidden" name="view" value="${esc(view.id)}"></form>
<div class="buttons"><form method="post" action="/view/close">${asChannel}<input type="hidden" name="view" value="${esc(view.id)}"><button type="submit">${esc(plain(view.close) || 'Cancel')}</button></form>
${view.submit ? `<button type="submit" form="modal-form" class="primary">${esc(plain(view.submit))}</button>` : ''}</div></div></div>`;
}
