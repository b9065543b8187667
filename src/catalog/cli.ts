import { readFileSync } from 'node:fs';
import { stdio, type CliIo } from '../platform/cli-io.js';
import { AppError } from '../platform/errors.js';
import { applyCatalogDocument, exportCatalogType, type ApplyPlan } from './as-code.js';
import type { CatalogService } from './catalog.service.js';

// `firebreak catalog export <type> [--format yaml|json]` and `firebreak catalog apply -f <file> [--dry-run]
// [--confirm]`: catalog as code from the command line (docs/catalog-as-code.md), given the catalog of a
// Firebreak that main.ts builds on the configured database.

const usage = [
  'Usage: firebreak catalog <command>',
  '  export <type> [--format yaml|json]        print a custom type (by type name or id) with its entries',
  '  apply -f <file> [--dry-run] [--confirm]   apply a YAML or JSON document: adds, changes, archives',
  '        --dry-run  print the plan and write nothing',
  '        --confirm  allow removing attributes whose values entries hold (the values are dropped)',
  'The document format is described in docs/catalog-as-code.md.',
].join('\n');

/** The plan as a person reads it: what happens to the type, then each entry added (+), changed (~) and archived (-). */
export function planSummary(plan: ApplyPlan): string {
  const lines: string[] = [];
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  const verb = plan.dry_run ? (plan.changed ? 'Dry run: this is what applying would do; nothing was written.' : 'Dry run: nothing would change.') : plan.changed ? 'Applied.' : 'Nothing to change: the catalog already matches the document.';
  lines.push(verb);
  const t = plan.type;
  lines.push(`Type ${t.name} (${t.type_name}): ${t.action === 'create' ? (plan.dry_run ? 'to create' : 'created') : t.action === 'change' ? (plan.dry_run ? 'to change' : 'changed') : 'unchanged'}`);
  for (const c of t.changes) lines.push(`  ${c.kind === 'attribute_added' ? '+' : c.kind === 'attribute_removed' ? '-' : '~'} ${c.message}`);
  if (t.values_dropped.length > 0 && plan.dry_run) lines.push('  (applying drops those values: run it with --confirm)');
  const e = plan.entries;
  lines.push(`Entries: ${e.add.length} to add, ${e.change.length} to change, ${e.archive.length} to archive, ${e.unchanged} unchanged`);
  const width = Math.min(30, Math.max(0, ...[...e.add, ...e.change, ...e.archive].map((x) => x.external_id.length)));
  for (const a of e.add) lines.push(`  + ${a.external_id.padEnd(width)}  ${a.name}`);
  for (const c of e.change) {
    lines.push(`  ~ ${c.external_id.padEnd(width)}  ${c.name}${c.restore ? ' (restored from the archive)' : ''}`);
    for (const x of c.changes) lines.push(`      ${x.label}: ${x.from} → ${x.to}`);
  }
  for (const a of e.archive) lines.push(`  - ${a.external_id.padEnd(width)}  ${a.name} (not in the file: ${plan.dry_run ? 'would be archived' : 'archived'})`);
  if (plan.dry_run && plan.changed) lines.push(`${n(e.add.length + e.change.length + e.archive.length + (t.action === 'unchanged' ? 0 : 1), 'change')} to apply: run it again without --dry-run.`);
  return `${lines.join('\n')}\n`;
}

function errorText(err: unknown): string {
  if (err instanceof AppError) {
    const problems = (err.details?.problems as { path: string; position: { line: number; column: number } | null; message: string }[] | undefined) ?? [];
    const more = problems.slice(1).map((p) => `\n  ${p.position ? `line ${p.position.line}, column ${p.position.column}: ` : ''}${p.path}: ${p.message}`);
    return `${err.message}${more.join('')}`;
  }
  return (err as Error).message;
}

export async function catalogCli(catalog: CatalogService, args: string[], io: CliIo = stdio): Promise<number> {
  const [command, ...rest] = args;
  const flag = (name: string) => rest.includes(name);
  const option = (...names: string[]) => {
    const i = rest.findIndex((a) => names.includes(a));
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (command === 'export') {
    const type = rest.find((a, i) => !a.startsWith('-') && rest[i - 1] !== '--format');
    const format = option('--format') ?? 'yaml';
    if (!type || (format !== 'yaml' && format !== 'json')) {
      io.err(`${usage}\n`);
      return 2;
    }
    try {
      io.out((await exportCatalogType(catalog, type, format)).text);
      return 0;
    } catch (err) {
      io.err(`firebreak catalog export: ${errorText(err)}\n`);
      return 1;
    }
  }
  if (command === 'apply') {
    const file = option('-f', '--file');
    if (!file) {
      io.err(`firebreak catalog apply needs the document: -f <file>\n${usage}\n`);
      return 2;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      io.err(`firebreak catalog apply: cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
      return 1;
    }
    try {
      const plan = await applyCatalogDocument(catalog, text, { dryRun: flag('--dry-run'), confirm: flag('--confirm') });
      io.out(planSummary(plan));
      return 0;
    } catch (err) {
      io.err(`firebreak catalog apply ${file}: ${errorText(err)}\n`);
      return 1;
    }
  }
  io.out(`${usage}\n`);
  return command === 'help' || command === undefined ? 0 : 2;
}
