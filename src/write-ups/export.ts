import type { WriteUp } from './write-ups.service.js';

// The write-up as files people keep: Markdown as it is, and a standalone HTML document (title, charset, a little
// print-friendly style) around the same rendering the app shows. The reference names the file.

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function exportFileName(w: WriteUp, ext: 'md' | 'html'): string {
  // References are INC-<digits>; anything else is dropped so the header cannot be bent.
  const ref = w.incident.reference.replace(/[^A-Za-z0-9-]/g, '');
  return `${ref}-write-up.${ext}`;
}

export function contentDisposition(fileName: string): string {
  return `attachment; filename="${fileName}"`;
}

export function htmlDocument(w: WriteUp): string {
  const title = `${w.incident.reference}: ${w.incident.name} (post-incident write-up)`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232b; margin: 0; background: #fff; }
  main { max-width: 48rem; margin: 2.5rem auto; padding: 0 1.25rem; }
  h1, h2, h3 { line-height: 1.25; } h2 { margin-top: 2rem; border-bottom: 1px solid #dde1e6; padding-bottom: .25rem; }
  table { border-collapse: collapse; } th, td { border: 1px solid #dde1e6; padding: .3rem .6rem; text-align: left; vertical-align: top; }
  code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; background: #f4f5f7; border-radius: 3px; }
  pre { padding: .75rem; overflow-x: auto; } blockquote { margin-left: 0; padding-left: 1rem; border-left: 3px solid #dde1e6; color: #4a5563; }
  footer { color: #6b7280; font-size: .85rem; margin-top: 3rem; }
  @media print { main { margin: 0; max-width: none; } a { color: inherit; } }
</style>
</head>
<body>
<main>
${w.html}
<footer>Exported from Firebreak: ${escapeHtml(w.incident.reference)}, write-up version ${w.version}, last saved by ${escapeHtml(w.updatedBy)} at ${escapeHtml(w.updatedAt)}.</footer>
</main>
</body>
</html>
`;
}
