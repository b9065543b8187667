import { ValidationError, type FieldError } from '../platform/errors.js';
import { ATTRIBUTE_ID, type AttributeKind, type CatalogAttribute, type CatalogType } from './model.js';

// The rules of a custom type's attribute schema, shared by the API (create, update) and catalog as code:
// attribute ids (slugs, stable across renames), references to any type (the type itself included), and
// derived attributes whose path is checked when the type is saved (every hop exists, every hop but the last is
// a reference, no cycle through derived attributes).

/** An attribute as people give it (API body or document). */
export interface AttributeInput {
  id?: string | null;
  name: string;
  type: AttributeKind;
  array?: boolean;
  referenceType?: string | null;
  path?: string[] | null;
}

/** What a path resolves to: the kind it ends on, the referenced type when that kind is a reference, a list or not. */
export interface PathEnd {
  kind: AttributeKind;
  referenceType: string | null;
  array: boolean;
}

/** A slug for an attribute name: "Owning team" → "owning_team", "3rd party" → "a_3rd_party". */
export function slugify(name: string): string {
  let s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!s) s = 'attribute';
  if (!/^[a-z]/.test(s)) s = `a_${s}`;
  return s.slice(0, 63).replace(/_+$/, '');
}

/** The stored form of an attribute, for comparing two schemas. */
export function canonicalAttribute(a: CatalogAttribute): CatalogAttribute {
  return {
    id: a.id,
    name: a.name,
    type: a.type,
    array: a.array,
    referenceType: a.referenceType ?? null,
    ...(a.type === 'derived' ? { path: a.path ?? [], derivedKind: a.derivedKind ?? 'string' } : {}),
  };
}

export function sameAttributes(a: CatalogAttribute[], b: CatalogAttribute[]): boolean {
  return JSON.stringify(a.map(canonicalAttribute)) === JSON.stringify(b.map(canonicalAttribute));
}

/** Types by type_name, with one type seen as it would be after a change. */
export type TypeLookup = (typeName: string) => Pick<CatalogType, 'typeName' | 'name' | 'attributes'> | undefined;

/**
 * Follows `path` from `typeName`. Derived hops are followed through their own paths; `stack` holds the derived
 * attributes being resolved (type.attribute), so a cycle is reported instead of recursing forever.
 */
export function resolvePath(typeName: string, path: string[], lookup: TypeLookup, stack: string[]): PathEnd {
  if (path.length === 0) throw new Error('a derived attribute needs a path of at least one attribute');
  let current = typeName;
  let array = false;
  for (let i = 0; i < path.length; i++) {
    const hop = path[i]!;
    const t = lookup(current);
    if (!t) throw new Error(`the type ${current} does not exist`);
    const a = t.attributes.find((x) => x.id === hop);
    if (!a) throw new Error(`${t.name} has no attribute "${hop}" (it has: ${t.attributes.map((x) => x.id).join(', ') || 'none'})`);
    let end: PathEnd = { kind: a.type, referenceType: a.referenceType ?? null, array: a.array };
    if (a.type === 'derived') {
      const key = `${t.typeName}.${a.id}`;
      if (stack.includes(key)) throw new Error(`it goes round in a cycle: ${[...stack, key].join(' → ')}`);
      end = resolvePath(t.typeName, a.path ?? [], lookup, [...stack, key]);
    }
    array ||= end.array;
    if (i < path.length - 1) {
      if (end.kind !== 'reference' || !end.referenceType) throw new Error(`${t.name}'s "${a.name}" (${hop}) is not a reference, so the path cannot go on past it`);
      current = end.referenceType;
    } else {
      return { kind: end.kind, referenceType: end.kind === 'reference' ? end.referenceType : null, array };
    }
  }
  throw new Error('unreachable');
}

/**
 * The attribute schema a custom type gets from `inputs`: ids given or made from names (an attribute given
 * without id keeps the id of the existing attribute of the same name), references checked, derived attributes
 * resolved. `others` finds every other type by type_name. Throws ValidationError naming each problem.
 */
export function normalizeAttributes(type: { typeName: string; name: string }, existing: CatalogAttribute[], inputs: AttributeInput[], others: TypeLookup, fieldPrefix = 'attributes'): CatalogAttribute[] {
  const problems: FieldError[] = [];
  const used = new Set<string>(inputs.map((a) => a.id).filter((x): x is string => !!x));
  const reserved = new Set(existing.map((a) => a.id));
  const names = new Set<string>();
  const draft: CatalogAttribute[] = inputs.map((a, i) => {
    const where = `${fieldPrefix}.${i}`;
    // Ids are slugs; attributes of types made before that rule keep the ids they have.
    let id = a.id ?? null;
    if (id !== null && !ATTRIBUTE_ID.test(id) && !reserved.has(id)) problems.push({ path: `${where}.id`, message: `Attribute id "${id}" must be lower-case letters, digits and underscores, starting with a letter (at most 63).` });
    if (id === null) {
      const same = existing.find((x) => x.name === a.name && !used.has(x.id));
      if (same) id = same.id;
      else {
        const base = slugify(a.name);
        id = base;
        for (let n = 2; used.has(id) || reserved.has(id); n++) id = `${base.slice(0, 60)}_${n}`;
      }
      used.add(id);
    }
    const lower = a.name.trim().toLowerCase();
    if (names.has(lower)) problems.push({ path: `${where}.name`, message: `Two attributes are named "${a.name}".` });
    names.add(lower);
    if (a.type === 'derived') {
      if (!a.path || a.path.length === 0) problems.push({ path: `${where}.path`, message: `Attribute "${a.name}" is derived: give its path (attribute ids followed through references).` });
      return { id, name: a.name.trim(), type: 'derived', array: false, referenceType: null, path: a.path ?? [], derivedKind: 'string' };
    }
    if (a.path && a.path.length > 0) problems.push({ path: `${where}.path`, message: `Attribute "${a.name}" is not derived: only derived attributes have a path.` });
    if (a.type === 'reference') {
      if (!a.referenceType) problems.push({ path: `${where}.reference_type`, message: `Attribute "${a.name}" is a reference: say which type it references.` });
      else if (a.referenceType !== type.typeName && !others(a.referenceType)) problems.push({ path: `${where}.reference_type`, message: `Attribute "${a.name}" references ${a.referenceType}, which does not exist.` });
    } else if (a.referenceType) problems.push({ path: `${where}.reference_type`, message: `Attribute "${a.name}" is not a reference: only references name a type.` });
    return { id, name: a.name.trim(), type: a.type, array: !!a.array, referenceType: a.type === 'reference' ? (a.referenceType ?? null) : null };
  });
  const ids = new Set<string>();
  draft.forEach((a, i) => {
    if (ids.has(a.id)) problems.push({ path: `${fieldPrefix}.${i}.id`, message: `Two attributes have the id "${a.id}".` });
    ids.add(a.id);
  });
  if (problems.length === 0) {
    const self = { typeName: type.typeName, name: type.name, attributes: draft };
    const lookup: TypeLookup = (n) => (n === type.typeName ? self : others(n));
    draft.forEach((a, i) => {
      if (a.type !== 'derived') return;
      try {
        const end = resolvePath(type.typeName, a.path!, lookup, [`${type.typeName}.${a.id}`]);
        a.array = end.array;
        a.referenceType = end.referenceType;
        a.derivedKind = end.kind;
      } catch (err) {
        problems.push({ path: `${fieldPrefix}.${i}.path`, message: `The path of "${a.name}" (${a.path!.join(' → ')}) is not valid: ${(err as Error).message}.` });
      }
    });
  }
  if (problems.length > 0) throw new ValidationError(problems.length === 1 ? problems[0]!.message : `The attributes are not valid: ${problems.map((p) => p.message).join(' ')}`, problems);
  return draft;
}

/**
 * Other custom types' derived attributes, checked again against a changed type: a removed attribute or a
 * hop that is no longer a reference breaks them (refused); what they resolve to may change (returned, to store).
 */
export function recheckDependents(changed: Pick<CatalogType, 'typeName' | 'name' | 'attributes'>, all: CatalogType[]): { type: CatalogType; attributes: CatalogAttribute[] }[] {
  const lookup: TypeLookup = (n) => (n === changed.typeName ? changed : all.find((t) => t.typeName === n));
  const updates: { type: CatalogType; attributes: CatalogAttribute[] }[] = [];
  const problems: string[] = [];
  for (const t of all) {
    if (t.typeName === changed.typeName || !t.attributes.some((a) => a.type === 'derived')) continue;
    const next = t.attributes.map((a) => {
      if (a.type !== 'derived') return a;
      try {
        const end = resolvePath(t.typeName, a.path ?? [], lookup, [`${t.typeName}.${a.id}`]);
        return { ...a, array: end.array, referenceType: end.referenceType, derivedKind: end.kind };
      } catch (err) {
        problems.push(`${t.name}'s derived attribute "${a.name}" (${(a.path ?? []).join(' → ')}) would break: ${(err as Error).message}.`);
        return a;
      }
    });
    if (!sameAttributes(next, t.attributes)) updates.push({ type: t, attributes: next });
  }
  if (problems.length > 0) throw new ValidationError(`Other types depend on this one: ${problems.join(' ')} Change or remove those attributes first.`);
  return updates;
}

/** Attributes whose stored values a new schema drops: removed ones, and ones whose kind, list flag or referenced type changed. */
export function droppedAttributes(before: CatalogAttribute[], after: CatalogAttribute[]): CatalogAttribute[] {
  return before.filter((a) => {
    if (a.type === 'derived') return false;
    const b = after.find((x) => x.id === a.id);
    return !b || b.type !== a.type || b.array !== a.array || (b.referenceType ?? null) !== (a.referenceType ?? null);
  });
}

/** Readable lines for what changes between two schemas (the plan and the API's messages). */
export function describeSchemaChanges(before: CatalogAttribute[], after: CatalogAttribute[]): { kind: 'attribute_added' | 'attribute_removed' | 'attribute_changed'; attribute: { id: string; name: string }; message: string }[] {
  const out: ReturnType<typeof describeSchemaChanges> = [];
  const kindText = (a: CatalogAttribute) => `${a.type === 'derived' ? `derived (${(a.path ?? []).join(' → ')})` : a.type === 'reference' ? `reference to ${a.referenceType}` : a.type}${a.array && a.type !== 'derived' ? ' list' : ''}`;
  for (const a of after) {
    const b = before.find((x) => x.id === a.id);
    if (!b) out.push({ kind: 'attribute_added', attribute: { id: a.id, name: a.name }, message: `attribute "${a.name}" added (${kindText(a)})` });
    else if (JSON.stringify(canonicalAttribute(a)) !== JSON.stringify(canonicalAttribute(b))) {
      const what: string[] = [];
      if (a.name !== b.name) what.push(`renamed from "${b.name}"`);
      if (kindText(a) !== kindText(b)) what.push(`${kindText(b)} → ${kindText(a)}`);
      out.push({ kind: 'attribute_changed', attribute: { id: a.id, name: a.name }, message: `attribute "${a.name}" ${what.join(', ') || 'changed'}` });
    }
  }
  for (const b of before) if (!after.some((a) => a.id === b.id)) out.push({ kind: 'attribute_removed', attribute: { id: b.id, name: b.name }, message: `attribute "${b.name}" removed` });
  return out;
}
