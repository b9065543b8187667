import type { FastifyReply } from 'fastify';

// Server-rendered pages (an invalid sign-in link, the web app not built…): the few pages Firebreak answers
// without the web app. They look like the app (same colours, type and card, light or dark as the browser
// prefers) and always declare UTF-8, in the header and in the document, so "Settings → Users" reads as written.

export const HTML_UTF8 = 'text/html; charset=utf-8';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** HTML that is already safe (built with `html`), as opposed to text that must be escaped. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A template tag that escapes every interpolated value unless it is SafeHtml (or an array of them). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    const parts = Array.isArray(v) ? v : [v];
    out += parts.map((p) => (p instanceof SafeHtml ? p.value : escapeHtml(String(p ?? '')))).join('');
    out += strings[i + 1] ?? '';
  });
  return new SafeHtml(out);
}

const STYLE = `
:root { --bg: #f6f7f9; --surface: #fff; --text: #1c2430; --muted: #5b6675; --border: #dde2e8; --accent: #c2410c; --link: #1d4ed8; --code-bg: #eef1f5;
  color-scheme: light dark; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; font-size: 15px; line-height: 1.5; color: var(--text); background: var(--bg); }
@media (prefers-color-scheme: dark) { :root { --bg: #0f141b; --surface: #18202b; --text: #e6eaf0; --muted: #a3aebd; --border: #2c3644; --link: #8ab4ff; --code-bg: #253041; } }
* { box-sizing: border-box; }
body { margin: 0; }
main { max-width: 560px; margin: 0 auto; padding: 4rem 1.25rem; }
.brand { display: inline-flex; align-items: center; gap: 0.5rem; font-weight: 700; font-size: 1.3rem; margin-bottom: 1rem; color: var(--text); text-decoration: none; }
.brand-mark { width: 1.1rem; height: 1.1rem; border-radius: 4px; background: linear-gradient(135deg, #f97316, var(--accent)); display: inline-block; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: 2rem; box-shadow: 0 1px 2px rgb(16 24 40 / 6%); }
h1 { font-size: 1.4rem; line-height: 1.25; margin: 0 0 0.75rem; }
p { margin: 0 0 0.75rem; }
a { color: var(--link); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; background: var(--code-bg); padding: 0.1em 0.35em; border-radius: 4px; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
`;

/** A whole page: the brand, a card with the heading and the body. */
export function renderPage(p: { title: string; body: SafeHtml }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(p.title)} · Firebreak</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>Firebreak</a>
<div class="card">
<h1>${escapeHtml(p.title)}</h1>
${p.body.value}
</div>
</main>
</body>
</html>
`;
}

/** Answers with a server-rendered page, UTF-8 declared. */
export function sendPage(reply: FastifyReply, status: number, page: { title: string; body: SafeHtml }) {
  return reply.status(status).type(HTML_UTF8).header('cache-control', 'no-store').send(renderPage(page));
}
