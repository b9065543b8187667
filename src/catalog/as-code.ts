import { Document, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { inTransaction } from '../platform/db/index.js';
import { AppError, ConflictError, ValidationError } from '../platform/errors.js';
import { newId, nowIso } from '../platform/ids.js';
import type { CatalogService, TypeChangePlan } from './catalog.service.js';
import { attributeKinds, entryFromRow, type AttributeKind, type CatalogAttribute, type CatalogEntry, type CatalogType } from './model.js';
import { normalizeAttributes, type AttributeInput } from './schema-rules.js';
import './tables.js';

// Catalog as code (docs/catalog-as-code.md): a custom type with its entries as one YAML or JSON document.
// Export writes one; apply reads one, works out a plan (type created / changed / unchanged; entries to add,
// change, archive, unchanged), and, unless it is a dry run, writes the plan in one transaction. Entries are
// matched by external id; entries of the type missing from the document are archived; references name the
// referenced entry by external id (PagerDuty ids for PagerDuty types) or by its exact name when one current
// entry has it. Applying the same document twice writes nothing.

export interface Position {
  line: number;
  column: number;
}

export class DocumentError extends AppError {
  constructor(code: 'invalid_document' | 'unknown_reference', message: string, details: { path: string | null; position: Position | null; [k: string]: unknown }) {
    super(400, code, message, details);
  }
}

const externalId = z.union([z.string(), z.number()]).transform((v) => String(v).trim()).pipe(z.string().min(1, 'must not be empty').max(200));
const attributeDoc = z.strictObject({
  id: z.string().optional(),
  name: z.string().trim().min(1, 'must not be empty').max(120),
  type: z.enum(attributeKinds as [AttributeKind, ...AttributeKind[]]),
  array: z.boolean().optional(),
  reference_type: z.string().max(64).nullable().optional(),
  path: z.array(z.string()).min(1).max(10).optional(),
});
const entryDoc = z.strictObject({
  external_id: externalId,
  name: z.string().trim().min(1, 'must not be empty').max(250),
  aliases: z.array(z.string().max(250)).max(50).optional(),
  attributes: z.record(z.string(), z.unknown()).nullable().optional(),
});
export const documentSchema = z.strictObject({
  type: z.strictObject({
    type_name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be letters, digits and underscores, starting with a letter'),
    name: z.string().trim().min(1, 'must not be empty').max(120),
    description: z.string().max(2000).nullable().optional(),
    attributes: z.array(attributeDoc).max(50).nullable().optional(),
  }),
  entries: z.array(entryDoc).max(50_000).nullable().optional(),
});
export type CatalogDocument = z.output<typeof documentSchema>;

type DocPath = (string | number)[];
const pathText = (p: DocPath) => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/** A parsed document and where each of its parts is in the text (for errors that point at the problem). */
export interface ParsedDocument {
  doc: CatalogDocument;
  where: (path: DocPath) => Position | null;
}

function positionText(p: Position | null) {
  return p ? `line ${p.line}, column ${p.column}: ` : '';
}

/** Parses YAML or JSON text into a document of the right shape; anything else is a 400 pointing at the problem. */
export function parseCatalogDocument(text: string): ParsedDocument {
  if (!text.trim()) throw new DocumentError('invalid_document', 'The document is empty: give a YAML or JSON document with a "type" and its "entries".', { path: null, position: null });
  if (/^\s*[{[]/.test(text)) {
    try {
      JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      const at = /at position (\d+)/.exec(msg);
      let position: Position | null = null;
      if (at) {
        const before = text.slice(0, Number(at[1]));
        const lines = before.split('\n');
        position = { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
      }
      throw new DocumentError('invalid_document', `The document is not valid JSON: ${positionText(position)}${msg.replace(/ in JSON at position \d+.*$/, '')}.`, { path: null, position });
    }
  }
  const lines = new LineCounter();
  const parsed = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const where = (path: DocPath): Position | null => {
    for (let n = path.length; n >= 0; n--) {
      const node = parsed.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) {
        const p = lines.linePos(node.range[0]);
        return { line: p.line, column: p.col };
      }
      // a map's key: point at the key rather than the whole map when the value is missing
    }
    return null;
  };
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0]!;
    const p = e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : null;
    throw new DocumentError('invalid_document', `The document is not valid YAML: ${positionText(p)}${e.message.replace(/ at line \d+, column \d+[\s\S]*$/, '')}.`, { path: null, position: p });
  }
  let value: unknown;
  try {
    value = parsed.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new DocumentError('invalid_document', `The document cannot be read: ${(err as Error).message}`, { path: null, position: null });
  }
  const result = documentSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 10).map((i) => {
      const path = [...i.path] as DocPath;
      if (i.code === 'unrecognized_keys' && i.keys[0]) path.push(i.keys[0]);
      const known = i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message;
      return { path: pathText(path) || '(the document)', position: where(path), message: known };
    });
    const first = problems[0]!;
    throw new DocumentError('invalid_document', `The document does not have the expected shape: ${positionText(first.position)}${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}.`, {
      path: first.path,
      position: first.position,
      problems,
    });
  }
  return { doc: result.data, where };
}

// ---- the plan ----

export interface PlanEntryChange {
  field: string;
  label: string;
  from: string;
  to: string;
}

/** What applying a document does (JSON as the API answers it). */
export interface ApplyPlan {
  dry_run: boolean;
  /** Whether anything is (or, in a dry run, would be) written. */
  changed: boolean;
  type: {
    type_name: string;
    name: string;
    action: 'create' | 'change' | 'unchanged';
    changes: { kind: string; message: string; entries: number }[];
    /** Values entries hold that the change drops: the apply needs confirm (409 attribute_in_use without). */
    values_dropped: { id: string; name: string; entries: number }[];
  };
  entries: {
    add: { external_id: string; name: string }[];
    change: { external_id: string; name: string; restore: boolean; changes: PlanEntryChange[] }[];
    archive: { external_id: string; name: string }[];
    unchanged: number;
  };
}

interface RefIndex {
  byExternal: Map<string, string>;
  byName: Map<string, string[]>;
  names: Map<string, string>;
  typeName: string;
  label: string;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]);

/** Works out the plan for a document and, unless `dryRun`, writes it in one transaction. */
export async function applyCatalogDocument(catalog: CatalogService, text: string, opts: { dryRun: boolean; confirm?: boolean }): Promise<ApplyPlan> {
  const { doc, where } = parseCatalogDocument(text);
  const db = catalog.database;
  const d = doc.type;
  const inputs: AttributeInput[] = (d.attributes ?? []).map((a) => ({ id: a.id ?? null, name: a.name, type: a.type, array: a.array, referenceType: a.reference_type ?? null, path: a.path ?? null }));
  const withPosition = (err: unknown): never => {
    if (err instanceof ValidationError) {
      const fields = (err.details?.fields as { path: string; message: string }[] | undefined) ?? [];
      const f = fields[0];
      const path: DocPath = f ? ['type', ...f.path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k))] : ['type'];
      const position = where(path);
      throw new DocumentError('invalid_document', `${positionText(position)}${err.message}`, { path: pathText(path), position, problems: fields });
    }
    throw err;
  };

  // The type.
  const existing = await catalog.findType(d.type_name);
  if (existing) catalog.assertEditable(existing);
  let typePlan: TypeChangePlan | null = null;
  let attributes: CatalogAttribute[];
  const description = d.description ?? '';
  if (existing) {
    typePlan = await catalog.planTypeChange(existing, { name: d.name, description, attributes: inputs }).catch(withPosition);
    attributes = typePlan.attributes;
  } else {
    const { lookup } = await catalog.typeLookup();
    try {
      attributes = normalizeAttributes({ typeName: d.type_name, name: d.name }, [], inputs, lookup);
    } catch (err) {
      return withPosition(err);
    }
  }
  const now = nowIso();
  const type: CatalogType = existing
    ? { ...existing, name: d.name, description, attributes }
    : { id: newId(), typeName: d.type_name, name: d.name, description, source: 'custom', attributes, syncIntervalMs: null, syncing: false, lastSyncedAt: null, readOnly: false, createdAt: now, updatedAt: now };

  // The entries: stored ones by external id, the document's checked for duplicates.
  const docEntries = doc.entries ?? [];
  const stored = new Map<string, CatalogEntry>();
  if (existing) for (const r of await db.selectFrom('catalog_entries').selectAll().where('type_id', '=', existing.id).execute()) stored.set(r.external_id, entryFromRow(r));
  const seen = new Map<string, number>();
  docEntries.forEach((e, i) => {
    const first = seen.get(e.external_id);
    if (first !== undefined) {
      const position = where(['entries', i, 'external_id']);
      throw new DocumentError('invalid_document', `${positionText(position)}entries[${i}] has the external id "${e.external_id}" of entries[${first}] too: external ids must be unique.`, { path: `entries[${i}].external_id`, position });
    }
    seen.set(e.external_id, i);
  });
  const idOf = new Map(docEntries.map((e) => [e.external_id, stored.get(e.external_id)?.id ?? newId()]));

  // Where references point: the document's own entries for the type itself, stored entries for other types.
  const indexes = new Map<string, RefIndex>();
  const indexFor = async (typeName: string): Promise<RefIndex> => {
    let ix = indexes.get(typeName);
    if (ix) return ix;
    const byName = new Map<string, string[]>();
    const names = new Map<string, string>();
    const byExternal = new Map<string, string>();
    let label = typeName;
    if (typeName === type.typeName) {
      label = type.name;
      for (const e of docEntries) {
        const id = idOf.get(e.external_id)!;
        byExternal.set(e.external_id, id);
        byName.set(e.name, [...(byName.get(e.name) ?? []), id]);
        names.set(id, e.name);
      }
    } else {
      const t = await catalog.getType(typeName);
      label = t.name;
      let after = '';
      for (;;) {
        const rows = await db.selectFrom('catalog_entries').select(['id', 'external_id', 'name', 'archived_at']).where('type_id', '=', t.id).where('id', '>', after).orderBy('id').limit(5000).execute();
        for (const r of rows) {
          byExternal.set(r.external_id, r.id);
          names.set(r.id, r.name);
          if (r.archived_at === null) byName.set(r.name, [...(byName.get(r.name) ?? []), r.id]);
        }
        if (rows.length < 5000) break;
        after = rows[rows.length - 1]!.id;
      }
    }
    ix = { byExternal, byName, names, typeName, label };
    indexes.set(typeName, ix);
    return ix;
  };

  const add: ApplyPlan['entries']['add'] = [];
  const change: ApplyPlan['entries']['change'] = [];
  const writes: { row: Parameters<CatalogService['insertEntry']>[2]; isNew: boolean; restore: boolean }[] = [];
  let unchanged = 0;
  const userNames = new Map<string, string>();
  for (const u of (await catalog.directory.byNormalizedEmail()).values()) userNames.set(u.email.trim().toLowerCase(), u.name);

  for (let i = 0; i < docEntries.length; i++) {
    const e = docEntries[i]!;
    const values: Record<string, unknown> = {};
    const known = new Set<string>();
    for (const [key, raw] of Object.entries(e.attributes ?? {})) {
      const a = attributes.find((x) => x.id === key);
      const at: DocPath = ['entries', i, 'attributes', key];
      if (!a) {
        const position = where(at);
        throw new DocumentError('invalid_document', `${positionText(position)}entry "${e.external_id}": ${type.name} has no attribute "${key}" (attributes are named by id: ${attributes.map((x) => x.id).join(', ') || 'none'}).`, { path: pathText(at), position });
      }
      if (a.type !== 'reference' || raw === null) {
        values[key] = raw;
        continue;
      }
      const ix = await indexFor(a.referenceType!);
      const resolve = (v: unknown, p: DocPath): string => {
        const s = typeof v === 'string' || typeof v === 'number' ? String(v).trim() : null;
        const position = where(p);
        const fail = (why: string): never => {
          throw new DocumentError('unknown_reference', `${positionText(position)}entry "${e.external_id}", attribute "${a.name}" (${a.id}): ${why}`, { path: pathText(p), position, entry: e.external_id, attribute: a.id, value: s });
        };
        if (s === null || s === '') return fail(`expects the external id or the exact name of a ${ix.label} entry.`);
        const byId = ix.byExternal.get(s!);
        if (byId) {
          known.add(byId);
          return byId;
        }
        const named = ix.byName.get(s!) ?? [];
        if (named.length === 1) {
          known.add(named[0]!);
          return named[0]!;
        }
        if (named.length > 1) return fail(`${named.length} ${ix.label} entries are named "${s}"; name it by its external id instead.`);
        return fail(`no ${ix.label} entry has the external id or name "${s}".`);
      };
      values[key] = Array.isArray(raw) ? raw.map((v, j) => resolve(v, [...at, j])) : resolve(raw, at);
    }
    let prepared: { attributes: Record<string, unknown>; refs: [string, string][] };
    try {
      prepared = await catalog.prepareValues(type, values, { extraRefs: new Map([...known].map((k) => [k, k])), label: (a) => `Entry "${e.external_id}", attribute "${a.name}" (${a.id})` });
    } catch (err) {
      if (err instanceof ValidationError) {
        const f = (err.details?.fields as { path: string }[] | undefined)?.[0];
        const p: DocPath = ['entries', i, 'attributes', ...(f ? [f.path.replace(/^attribute_values\./, '')] : [])];
        const position = where(p);
        throw new DocumentError('invalid_document', `${positionText(position)}${err.message}`, { path: pathText(p), position });
      }
      throw err;
    }
    const row = { id: idOf.get(e.external_id)!, externalId: e.external_id, name: e.name, aliases: e.aliases ?? [], attributes: prepared.attributes, refs: prepared.refs };
    const before = stored.get(e.external_id);
    if (!before) {
      add.push({ external_id: e.external_id, name: e.name });
      writes.push({ row, isNew: true, restore: false });
      continue;
    }
    const changes: PlanEntryChange[] = [];
    const show = async (a: CatalogAttribute | null, v: unknown): Promise<string> => {
      const list = asList(v);
      if (list.length === 0) return '—';
      if (a?.type === 'reference') {
        const ix = await indexFor(a.referenceType!);
        const other = a.referenceType === type.typeName ? new Map([...stored.values()].map((x) => [x.id, x.name])) : null;
        return list.map((x) => ix.names.get(String(x)) ?? other?.get(String(x)) ?? '(an entry no longer there)').join(', ');
      }
      if (a?.type === 'firebreak_user') return list.map((x) => userNames.get(String(x)) ?? String(x)).join(', ');
      return list.map((x) => (typeof x === 'boolean' ? (x ? 'yes' : 'no') : String(x))).join(', ');
    };
    if (before.name !== row.name) changes.push({ field: 'name', label: 'Name', from: before.name, to: row.name });
    if (JSON.stringify(before.aliases) !== JSON.stringify(row.aliases)) changes.push({ field: 'aliases', label: 'Aliases', from: await show(null, before.aliases), to: await show(null, row.aliases) });
    const keys = new Set([...Object.keys(before.attributes), ...Object.keys(row.attributes)]);
    for (const k of keys) {
      if (JSON.stringify(before.attributes[k] ?? null) === JSON.stringify(row.attributes[k] ?? null)) continue;
      const a = attributes.find((x) => x.id === k) ?? existing?.attributes.find((x) => x.id === k) ?? null;
      changes.push({ field: k, label: a?.name ?? k, from: await show(existing?.attributes.find((x) => x.id === k) ?? a, before.attributes[k]), to: await show(a, row.attributes[k]) });
    }
    const restore = before.archivedAt !== null;
    if (changes.length === 0 && !restore) {
      unchanged++;
      continue;
    }
    change.push({ external_id: e.external_id, name: e.name, restore, changes });
    writes.push({ row, isNew: false, restore });
  }
  const archive = [...stored.values()].filter((s) => s.archivedAt === null && !seen.has(s.externalId));

  const typeChanged = existing ? typePlan!.changed : true;
  const plan: ApplyPlan = {
    dry_run: opts.dryRun,
    changed: typeChanged || writes.length > 0 || archive.length > 0,
    type: {
      type_name: type.typeName,
      name: type.name,
      action: existing ? (typeChanged ? 'change' : 'unchanged') : 'create',
      changes: existing ? typePlan!.changes.map((c) => ({ kind: c.kind, message: c.message, entries: c.entries })) : attributes.map((a) => ({ kind: 'attribute_added', message: `attribute "${a.name}" (${a.id}, ${a.type === 'derived' ? `derived: ${a.path!.join(' → ')}` : a.type === 'reference' ? `reference to ${a.referenceType}` : a.type}${a.array && a.type !== 'derived' ? ' list' : ''})`, entries: 0 })),
      values_dropped: typePlan?.valuesDropped ?? [],
    },
    entries: { add, change, archive: archive.map((s) => ({ external_id: s.externalId, name: s.name })), unchanged },
  };
  if (opts.dryRun || !plan.changed) return plan;
  if (existing) catalog.assertDropConfirmed(existing, typePlan!, opts.confirm, 'apply again with confirm (firebreak catalog apply --confirm)');

  await inTransaction(db, async (tx) => {
    if (existing) {
      // Re-read inside the transaction: a type changed since the plan was made is refused rather than overwritten.
      const current = await catalog.getType(existing.id, tx);
      if (current.updatedAt !== existing.updatedAt) throw new ConflictError('changed_meanwhile', `${existing.name} was changed while this document was being applied; apply it again.`);
      await catalog.writeTypeChange(tx, existing, typePlan!, now);
    } else {
      await catalog.insertType(tx, { id: type.id, typeName: type.typeName, name: type.name, description, attributes }, now);
    }
    for (const w of writes) {
      if (w.isNew) await catalog.insertEntry(tx, type, w.row, now);
    }
    for (const w of writes) {
      if (!w.isNew) await catalog.updateEntryRow(tx, type, w.row, { restore: w.restore }, now);
    }
    const ids = archive.map((s) => s.id);
    for (let i = 0; i < ids.length; i += 200) await tx.updateTable('catalog_entries').set({ archived_at: now, updated_at: now }).where('id', 'in', ids.slice(i, i + 200)).execute();
  });
  return plan;
}

// ---- export ----

/** A type with its current entries as a document (references by external id, each followed by a comment with its name). */
export async function exportCatalogType(catalog: CatalogService, idOrTypeName: string, format: 'yaml' | 'json'): Promise<{ typeName: string; text: string }> {
  const t = await catalog.getType(idOrTypeName);
  const db = catalog.database;
  const rows = await db.selectFrom('catalog_entries').selectAll().where('type_id', '=', t.id).where('archived_at', 'is', null).orderBy('name_lower').orderBy('id').execute();
  const entries = rows.map(entryFromRow);
  const refAttrs = t.attributes.filter((a) => a.type === 'reference');
  const refIds = [...new Set(entries.flatMap((e) => refAttrs.flatMap((a) => asList(e.attributes[a.id]).map(String))))];
  const refs = new Map<string, { externalId: string; name: string }>();
  for (let i = 0; i < refIds.length; i += 200) {
    for (const r of await db.selectFrom('catalog_entries').select(['id', 'external_id', 'name']).where('id', 'in', refIds.slice(i, i + 200)).execute()) refs.set(r.id, { externalId: r.external_id, name: r.name });
  }
  const refNames = new Map<string, string[]>(); // "entry index:attribute id" → names, in the order written
  const docEntries = entries.map((e, i) => {
    const attributes: Record<string, unknown> = {};
    for (const a of t.attributes) {
      if (a.type === 'derived') continue;
      const v = e.attributes[a.id];
      const list = asList(v).filter((x) => x !== '');
      if (list.length === 0) continue;
      if (a.type === 'reference') {
        const found = list.map((x) => refs.get(String(x))).filter((x): x is { externalId: string; name: string } => !!x);
        if (found.length === 0) continue;
        const ext = found.map((x) => x.externalId);
        refNames.set(`${i}:${a.id}`, found.map((x) => x.name));
        attributes[a.id] = a.array ? ext : ext[0];
      } else attributes[a.id] = a.array ? list : list[0];
    }
    return {
      external_id: e.externalId,
      name: e.name,
      ...(e.aliases.length > 0 ? { aliases: e.aliases } : {}),
      ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
    };
  });
  const value = {
    type: {
      type_name: t.typeName,
      name: t.name,
      description: t.description,
      attributes: t.attributes.map((a) => ({
        id: a.id,
        name: a.name,
        type: a.type,
        ...(a.array && a.type !== 'derived' ? { array: true } : {}),
        ...(a.type === 'reference' ? { reference_type: a.referenceType } : {}),
        ...(a.type === 'derived' ? { path: a.path } : {}),
      })),
    },
    entries: docEntries,
  };
  if (format === 'json') return { typeName: t.typeName, text: `${JSON.stringify(value, null, 2)}\n` };
  const doc = new Document(value);
  doc.commentBefore = ` Catalog type ${t.name} (${t.typeName}), ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, exported from Firebreak.\n Apply with: firebreak catalog apply -f <this file> [--dry-run]. References name entries by external id.`;
  docEntries.forEach((e, i) => {
    for (const a of refAttrs) {
      const names = refNames.get(`${i}:${a.id}`);
      if (!names) continue;
      const node = doc.getIn(['entries', i, 'attributes', a.id], true);
      if (isSeq(node)) node.items.forEach((item, j) => isScalar(item) && names[j] !== undefined && names[j] !== item.value && (item.comment = ` ${names[j]}`));
      else if (isScalar(node) && names[0] !== node.value) node.comment = ` ${names[0]}`;
    }
  });
  return { typeName: t.typeName, text: doc.toString({ lineWidth: 0 }) };
}
