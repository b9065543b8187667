import MarkdownIt from 'markdown-it';

// The one Markdown renderer for write-ups, used by the server (GET, export.html, template preview) and by the web
// editor's live preview, so what people see while editing is what the export holds. Raw HTML is off: `<script>`
// or `<img onerror=…>` in anyone's text (a summary, a pinned message, an edit) shows as text. markdown-it's own
// link check refuses javascript:, vbscript:, file: and most data: URLs.

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

// Links open outside the app and tell the target nothing about the page they came from.
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', 'noopener noreferrer');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(markdown: string): string {
  return md.render(markdown);
}
