import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stdio, type CliIo } from '../platform/cli-io.js';
import { AppError } from '../platform/errors.js';
import { applyWorkflowDocuments, exportWorkflows, joinDocuments, type ApplyResult, type Source } from './as-code.js';
import type { WorkflowsService } from './service.js';

// `firebreak workflows export [--out dir]` and `firebreak workflows apply -f <dir or file> [--dry-run] [--prune]`:
// workflows as code from the command line (docs/workflows.md), given the workflows of a Firebreak that main.ts
// builds on the configured database.

const usage = [
  'Usage: firebreak workflows <command>',
  '  export [--out <dir>]                          print every workflow as YAML, or write <dir>/<key>.yaml each',
  '  apply -f <dir or file> [--dry-run] [--prune]  create or update the workflows of the .yaml files',
  '        --dry-run  print the plan and write nothing',
  '        --prune    also delete workflows that no file holds',
  'The format is the definition described in docs/workflows.md.',
].join('\n');

/** The plan as a person reads it: + create, ~ update, = unchanged, - delete. */
export function planText(r: ApplyResult, dryRun: boolean): string {
  const sign = { create: '+', update: '~', unchanged: '=', delete: '-' } as const;
  const lines = r.plan.map((p) => [`${sign[p.action]} ${p.key} (${p.name}): ${p.action}`, ...(p.action === 'unchanged' ? [] : p.changes.map((c) => `    ${c}`))].join('\n'));
  const n = r.plan.filter((p) => p.action !== 'unchanged').length;
  const head = dryRun ? (n ? `Dry run: ${n} change${n === 1 ? '' : 's'} would be applied; nothing was written.` : 'Dry run: nothing would change.') : r.applied ? `Applied ${n} change${n === 1 ? '' : 's'}.` : 'Nothing to change: the workflows already match the files.';
  return `${head}\n${lines.join('\n')}\n`;
}

function readSources(path: string): Source[] {
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path).filter((f) => /\.ya?ml$/i.test(f)).sort();
    return files.map((f) => ({ name: join(path, f), text: readFileSync(join(path, f), 'utf8') }));
  }
  return [{ name: path, text: readFileSync(path, 'utf8') }];
}

function errorText(err: unknown): string {
  return err instanceof AppError ? `${err.message}` : (err as Error).message;
}

export async function workflowsCli(service: WorkflowsService, args: string[], io: CliIo = stdio): Promise<number> {
  const [command, ...rest] = args;
  const flag = (name: string) => rest.includes(name);
  const option = (...names: string[]) => {
    const i = rest.findIndex((a) => names.includes(a));
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (command === 'export') {
    try {
      const docs = await exportWorkflows(service);
      const out = option('--out', '-o');
      if (!out) {
        io.out(joinDocuments(docs.map((d) => d.text)));
        return 0;
      }
      mkdirSync(out, { recursive: true });
      for (const d of docs) writeFileSync(join(out, `${d.key}.yaml`), d.text);
      io.out(`Wrote ${docs.length} workflow${docs.length === 1 ? '' : 's'} to ${out}\n`);
      return 0;
    } catch (err) {
      io.err(`firebreak workflows export: ${errorText(err)}\n`);
      return 1;
    }
  }
  if (command === 'apply') {
    const path = option('-f', '--file');
    if (!path) {
      io.err(`firebreak workflows apply needs the files: -f <dir or file>\n${usage}\n`);
      return 2;
    }
    let sources: Source[];
    try {
      sources = readSources(path);
    } catch (err) {
      io.err(`firebreak workflows apply: cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}\n`);
      return 1;
    }
    try {
      const dryRun = flag('--dry-run');
      const r = await applyWorkflowDocuments(service, sources, { dryRun, prune: flag('--prune'), actor: { kind: 'system', ref: 'cli' } });
      io.out(planText(r, dryRun));
      return 0;
    } catch (err) {
      io.err(`firebreak workflows apply: ${errorText(err)}\n`);
      return 1;
    }
  }
  io.out(`${usage}\n`);
  return command === 'help' || command === undefined ? 0 : 2;
}
