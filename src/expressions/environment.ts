import { Environment } from '@marcbachmann/cel-js';
import { attributeFieldNames, backlinkFieldName, backlinksTypeName, celTypeName, ENTRY_FIELDS, type FieldDef, type Schema, type SchemaAttribute, type SchemaType } from './schema.js';
import { asIdList, currentRun, instrument, scalar, type EntryObject, type LoadedEntry, type RunState } from './runtime.js';

// Builds the CEL environment from the current schema (catalog types, custom fields, severities): one CEL type per
// catalog type with a field per attribute, a `referenced_by` member per type for backlinks, the `incident` and
// `actor` variables, and Firebreak's functions. Also keeps, per CEL type, what its members are, so an error can
// say what exists where the mistake is.

export const INCIDENT = 'firebreak.Incident';
export const SEVERITY = 'firebreak.Severity';
export const STATUS = 'firebreak.Status';
export const PERSON = 'firebreak.Person';
export const ACTOR = 'firebreak.Actor';
export const CUSTOM_FIELDS = 'firebreak.CustomFields';
const TIMESTAMP = 'google.protobuf.Timestamp';

/** A member of a CEL type as people read it in errors and the reference: name → type, and what it is. */
export interface Member {
  type: string;
  doc: string;
}

type EntryCtor = new (s: RunState, e: LoadedEntry, via: string) => EntryObject;

export interface TypeRuntime {
  type: SchemaType;
  celName: string;
  ctor: EntryCtor;
  /** attribute id → field name */
  fieldOf: Map<string, string>;
}

export interface BuiltEnvironment {
  env: Environment;
  version: string;
  schema: Schema;
  /** CEL type name → its members. */
  members: Map<string, Map<string, Member>>;
  variables: Map<string, Member>;
  functions: { signature: string; doc: string }[];
  typesById: Map<string, TypeRuntime>;
  fieldsByKey: Map<string, FieldDef>;
  ctors: {
    Incident: new (init: Record<string, unknown>) => object;
    Severity: new (init: Record<string, unknown>) => object;
    Status: new (init: Record<string, unknown>) => object;
    Person: new (init: Record<string, unknown>) => object;
    Actor: new (init: Record<string, unknown>) => object;
    CustomFields: new (s: RunState) => object;
  };
}

function plainClass(name: string): new (init: Record<string, unknown>) => object {
  const C = class {
    constructor(init: Record<string, unknown>) {
      for (const [k, v] of Object.entries(init)) if (v !== undefined && v !== null) (this as Record<string, unknown>)[k] = v;
    }
  };
  Object.defineProperty(C, 'name', { value: name.replace(/\W/g, '_') });
  return C;
}

function scalarCel(kind: string | undefined): 'string' | 'double' | 'bool' | null {
  switch (kind) {
    case 'string':
    case 'text':
    case 'firebreak_user':
      return 'string';
    case 'number':
      return 'double';
    case 'bool':
      return 'bool';
    default:
      return null;
  }
}

function memo(w: EntryObject, key: string, make: () => unknown): unknown {
  w.$s.tick();
  if (key in w.$m) return w.$m[key];
  return (w.$m[key] = make());
}

const hop = (w: EntryObject, field: string) => `${w.$via} → ${w.$e.name}.${field}`;

export function buildEnvironment(schema: Schema, version: string): BuiltEnvironment {
  const env = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 200, maxCallArguments: 16 } });
  const members = new Map<string, Map<string, Member>>();
  const typesById = new Map<string, TypeRuntime>();
  const typesByTypeName = new Map<string, SchemaType>();
  for (const t of schema.types) typesByTypeName.set(t.typeName, t);

  // ---- catalog types: constructors first (fields may name any type) ----
  for (const t of schema.types) {
    const celName = celTypeName(t);
    const C = class {
      $m: Record<string, unknown> = {};
      constructor(
        public $s: RunState,
        public $e: LoadedEntry,
        public $via: string,
      ) {}
    } as unknown as EntryCtor;
    Object.defineProperty(C, 'name', { value: `Entry_${celName.replace(/\W/g, '_')}` });
    typesById.set(t.id, { type: t, celName, ctor: C, fieldOf: attributeFieldNames(t) });
  }

  /** What an attribute's value is in CEL, following a derived attribute's path to its end. */
  function attrCelType(t: SchemaType, a: SchemaAttribute): { cel: string; ref: SchemaType | null; kind: 'string' | 'double' | 'bool' | null; array: boolean } | null {
    if (a.type === 'reference' || (a.type === 'derived' && a.referenceType)) {
      const target = a.referenceType ? typesByTypeName.get(a.referenceType) : undefined;
      if (!target) return null;
      const name = typesById.get(target.id)!.celName;
      return { cel: a.array ? `list<${name}>` : name, ref: target, kind: null, array: a.array };
    }
    const kind = scalarCel(a.type === 'derived' ? a.derivedKind : a.type);
    if (!kind) return null;
    return { cel: a.array ? `list<${kind}>` : kind, ref: null, kind, array: a.array };
  }

  /** Values of one attribute of one entry: entry objects for references, scalars otherwise (always a list). */
  function valuesOf(w: EntryObject, t: SchemaType, a: SchemaAttribute, via: string): unknown[] {
    const raw = w.$e.attributes[a.id];
    if (a.type === 'reference') return w.$s.entries(raw, via);
    const kind = scalarCel(a.type);
    if (!kind) return [];
    const list = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
    return list.map((x) => scalar(x, kind)).filter((x) => x !== undefined);
  }

  /** A derived attribute: follow its path hop by hop over everything reached so far. */
  function derivedValues(w: EntryObject, t: SchemaType, a: SchemaAttribute, field: string): unknown[] {
    let frontier: EntryObject[] = [w];
    let type = t;
    const path = a.path ?? [];
    for (let i = 0; i < path.length; i++) {
      const attr = type.attributes.find((x) => x.id === path[i]);
      if (!attr) return [];
      const last = i === path.length - 1;
      const out: unknown[] = [];
      const seen = new Set<string>();
      for (const f of frontier) {
        for (const v of valuesOf(f, type, attr, hop(w, field))) {
          if (typeof v === 'object' && v !== null) {
            const id = (v as EntryObject).$e.id;
            if (seen.has(id)) continue;
            seen.add(id);
          }
          out.push(v);
        }
      }
      if (last) return out;
      if (attr.type !== 'reference') return [];
      const next = attr.referenceType ? typesByTypeName.get(attr.referenceType) : undefined;
      if (!next) return [];
      type = next;
      frontier = out as EntryObject[];
    }
    return [];
  }

  // Backlinks: for each reference attribute A of type S pointing at type T, T's `referenced_by` gets S_A.
  const backlinkMembers = new Map<string, { field: string; source: TypeRuntime; attributeId: string }[]>();
  for (const rt of typesById.values()) {
    for (const a of rt.type.attributes) {
      if (a.type !== 'reference' || !a.referenceType) continue;
      const target = typesByTypeName.get(a.referenceType);
      if (!target) continue;
      const list = backlinkMembers.get(target.id) ?? [];
      list.push({ field: backlinkFieldName(rt.celName, rt.fieldOf.get(a.id)!), source: rt, attributeId: a.id });
      backlinkMembers.set(target.id, list);
    }
  }

  for (const rt of typesById.values()) {
    const { type: t, celName, ctor } = rt;
    const fields: Record<string, string> = {};
    const docs = new Map<string, Member>();
    const proto = ctor.prototype as object;
    const define = (field: string, cel: string, doc: string, get: (this: EntryObject) => unknown) => {
      fields[field] = cel;
      docs.set(field, { type: cel, doc });
      Object.defineProperty(proto, field, { get, enumerable: false, configurable: false });
    };
    define('id', 'string', ENTRY_FIELDS.id!.doc, function () {
      return this.$e.id;
    });
    define('name', 'string', ENTRY_FIELDS.name!.doc, function () {
      return this.$e.name;
    });
    define('external_id', 'string', ENTRY_FIELDS.external_id!.doc, function () {
      return this.$e.externalId;
    });
    define('archived', 'bool', ENTRY_FIELDS.archived!.doc, function () {
      return this.$e.archived;
    });
    define('url', 'string', ENTRY_FIELDS.url!.doc, function () {
      return this.$e.url ?? undefined;
    });
    for (const a of t.attributes) {
      const field = rt.fieldOf.get(a.id);
      if (!field) continue;
      const ct = attrCelType(t, a);
      if (!ct) continue;
      const doc = `${a.name}${a.type === 'derived' ? ` (derived: ${(a.path ?? []).join(' → ')})` : ''}${field !== a.id ? ` (attribute ${a.id})` : ''}`;
      if (a.type === 'derived') {
        define(field, ct.cel, doc, function () {
          return memo(this, field, () => {
            const vs = derivedValues(this, t, a, field);
            return ct.array ? vs : vs[0];
          });
        });
      } else if (ct.ref) {
        define(field, ct.cel, doc, function () {
          return memo(this, field, () => {
            const vs = this.$s.entries(this.$e.attributes[a.id], hop(this, field));
            return ct.array ? vs : vs[0];
          });
        });
      } else {
        const kind = ct.kind!;
        define(field, ct.cel, doc, function () {
          this.$s.tick();
          const raw = this.$e.attributes[a.id];
          if (ct.array) return (Array.isArray(raw) ? raw : raw == null ? [] : [raw]).map((x) => scalar(x, kind)).filter((x) => x !== undefined);
          return scalar(Array.isArray(raw) ? raw[0] : raw, kind);
        });
      }
    }
    // referenced_by: an object with one list per (type, attribute) that can point here.
    const back = backlinkMembers.get(t.id) ?? [];
    const backName = backlinksTypeName(celName);
    const B = class {
      constructor(readonly $owner: EntryObject) {}
    };
    Object.defineProperty(B, 'name', { value: `Backlinks_${celName.replace(/\W/g, '_')}` });
    const backFields: Record<string, string> = {};
    const backDocs = new Map<string, Member>();
    for (const b of back) {
      backFields[b.field] = `list<${b.source.celName}>`;
      const attrName = b.source.type.attributes.find((x) => x.id === b.attributeId)?.name ?? b.attributeId;
      backDocs.set(b.field, { type: `list<${b.source.celName}>`, doc: `${b.source.type.name} entries whose ${attrName} is this entry` });
      Object.defineProperty(B.prototype, b.field, {
        get(this: { $owner: EntryObject }) {
          const o = this.$owner;
          return memo(o, `<-${b.field}`, () => o.$s.backlinks(o, b.source.type.id, b.attributeId, hop(o, `referenced_by.${b.field}`)));
        },
      });
    }
    env.registerType(backName, { ctor: B, fields: backFields });
    members.set(backName, backDocs);
    define('referenced_by', backName, ENTRY_FIELDS.referenced_by!.doc, function () {
      return memo(this, '<-', () => new B(this));
    });
    members.set(celName, docs);
    (rt as { fields?: Record<string, string> }).fields = fields;
  }
  for (const rt of typesById.values()) env.registerType(rt.celName, { ctor: rt.ctor, fields: (rt as unknown as { fields: Record<string, string> }).fields });

  // ---- incidents ----
  const Severity = plainClass(SEVERITY);
  const Status = plainClass(STATUS);
  const Person = plainClass(PERSON);
  const Actor = plainClass(ACTOR);
  const Incident = plainClass(INCIDENT);
  const fieldsByKey = new Map(schema.fields.map((f) => [f.key, f]));
  const cfFields: Record<string, string> = {};
  const cfDocs = new Map<string, Member>();
  const CustomFields = class {
    constructor(readonly $s: RunState) {}
  };
  for (const f of schema.fields) {
    let cel: string;
    let get: (this: { $s: RunState }) => unknown;
    const via = `incident.custom_fields.${f.key}`;
    switch (f.type) {
      case 'text':
      case 'link':
        cel = 'string';
        get = function () {
          const v = this.$s.ctx.customValues.get(f.key);
          return typeof v === 'string' ? v : undefined;
        };
        break;
      case 'number':
        cel = 'double';
        get = function () {
          const v = this.$s.ctx.customValues.get(f.key);
          return typeof v === 'number' ? v : undefined;
        };
        break;
      case 'single_select':
        cel = 'string';
        get = function () {
          const v = this.$s.ctx.customValues.get(f.key);
          return typeof v === 'string' ? (f.options.find((o) => o.id === v)?.label ?? undefined) : undefined;
        };
        break;
      case 'multi_select':
        cel = 'list<string>';
        get = function () {
          const v = this.$s.ctx.customValues.get(f.key);
          return asIdList(v)
            .map((id) => f.options.find((o) => o.id === id)?.label)
            .filter((x): x is string => !!x);
        };
        break;
      case 'catalog': {
        const target = f.catalogTypeId ? typesById.get(f.catalogTypeId) : [...typesById.values()].find((x) => x.type.typeName === f.catalogTypeName);
        if (!target) continue;
        cel = f.multiple ? `list<${target.celName}>` : target.celName;
        get = function () {
          const s = this.$s;
          const v = s.ctx.customValues.get(f.key);
          const list = s.entries(v, via);
          return f.multiple ? list : list[0];
        };
        break;
      }
      default:
        continue;
    }
    cfFields[f.key] = cel;
    cfDocs.set(f.key, { type: cel, doc: `${f.name} (custom field, ${f.type.replace('_', ' ')}${f.type === 'catalog' ? `: ${f.catalogTypeName}` : ''}); test with has() first` });
    Object.defineProperty(CustomFields.prototype, f.key, { get });
  }
  env.registerType(CUSTOM_FIELDS, { ctor: CustomFields, fields: cfFields });
  members.set(CUSTOM_FIELDS, cfDocs);

  const reg = (name: string, ctor: new (...a: never[]) => object, fields: Record<string, Member>) => {
    env.registerType(name, { ctor, fields: Object.fromEntries(Object.entries(fields).map(([k, m]) => [k, m.type])) });
    members.set(name, new Map(Object.entries(fields)));
  };
  reg(SEVERITY, Severity, { name: { type: 'string', doc: 'the severity name' }, rank: { type: 'int', doc: 'its rank: 1 is the least severe; higher is more severe' } });
  reg(STATUS, Status, { name: { type: 'string', doc: 'the status name' }, category: { type: 'string', doc: 'triage, live, learning, closed, declined, canceled or merged' } });
  reg(PERSON, Person, { name: { type: 'string', doc: 'their name' }, email: { type: 'string', doc: 'their email' } });
  reg(ACTOR, Actor, {
    kind: { type: 'string', doc: 'user, system, integration, workflow...' },
    name: { type: 'string', doc: "the person's name (absent unless a person)" },
    email: { type: 'string', doc: "the person's email (absent unless a person)" },
  });
  reg(INCIDENT, Incident, {
    id: { type: 'string', doc: "the incident's id" },
    reference: { type: 'string', doc: 'INC-42' },
    name: { type: 'string', doc: 'its name' },
    summary: { type: 'string', doc: 'its summary' },
    severity: { type: SEVERITY, doc: 'severity: name and rank' },
    status: { type: STATUS, doc: 'status: name and category' },
    mode: { type: 'string', doc: 'standard, test or retrospective' },
    lead: { type: PERSON, doc: 'the lead (absent when nobody leads: test with has(incident.lead))' },
    created_at: { type: TIMESTAMP, doc: 'when it was declared' },
    updated_at: { type: TIMESTAMP, doc: 'when it last changed' },
    custom_fields: { type: CUSTOM_FIELDS, doc: 'custom fields by key (absent when empty: test with has())' },
  });
  env.registerVariable('incident', INCIDENT, { description: 'the incident' });
  env.registerVariable('actor', ACTOR, { description: 'who or what caused the change being evaluated' });
  const variables = new Map<string, Member>([
    ['incident', { type: INCIDENT, doc: 'the incident' }],
    ['actor', { type: ACTOR, doc: 'who or what caused the change' }],
  ]);

  // severity("Critical"): the severity of that name, checked when saved.
  env.registerFunction(
    'severity(ast): firebreak.Severity',
    ({ args }: { args: { op: string; args: unknown }[] }) => ({
      arg: args[0],
      typeCheck(checker: { createError(code: string, msg: string, node: unknown): Error; getType(n: string): unknown }, macro: { arg: { op: string; args: unknown }; sevId?: string }) {
        const a = macro.arg;
        if (a.op !== 'value' || typeof a.args !== 'string') throw checker.createError('severity_name_expected', 'severity() takes a severity name in quotes, e.g. severity("Critical")', a);
        const name = a.args.trim().toLowerCase();
        const s = schema.severities.find((x) => x.name.toLowerCase() === name);
        if (!s) throw checker.createError('unknown_severity', `There is no severity named "${a.args}"`, a);
        macro.sevId = s.id;
        return checker.getType(SEVERITY);
      },
      evaluate(_ev: unknown, macro: { sevId: string }) {
        const run = currentRun();
        const s = (run?.ctx.severities ?? schema.severities).find((x) => x.id === macro.sevId);
        if (!s) throw new Error('That severity was deleted since the expression was checked.');
        return new Severity({ name: s.name, rank: BigInt(s.rank) });
      },
    }),
    { description: 'The severity of that name (checked when the expression is saved)' },
  );

  // The evaluator is the environment's own object: reach it once and count its steps (runtime.ts).
  let evaluator: unknown;
  // The probe must run in the environment expressions use, so register it there before freezing by cloning.
  const finalEnv = env.clone();
  finalEnv.registerFunction('firebreak_probe(ast): bool', () => ({
    typeCheck: (c: { getType(n: string): unknown }) => c.getType('bool'),
    evaluate: (ev: unknown) => ((evaluator = ev), true),
  }));
  finalEnv.evaluate('firebreak_probe(0)', { incident: undefined as never });
  if (!evaluator) throw new Error('cel-js evaluator not reached: evaluation cannot be bounded');
  instrument(evaluator as never);

  const functions = [
    { signature: 'severity(string) → firebreak.Severity', doc: 'the severity of that name, e.g. incident.severity.rank >= severity("Critical").rank (the name is checked when saved)' },
    { signature: 'has(x.field) → bool', doc: 'whether a field has a value (lead, url, custom fields, optional attributes)' },
    { signature: 'list.exists(x, predicate) / all / exists_one', doc: 'whether some / all / exactly one item matches' },
    { signature: 'list.filter(x, predicate)', doc: 'the items that match' },
    { signature: 'list.map(x, expr) / map(x, predicate, expr)', doc: 'each item transformed (optionally only those that match)' },
    { signature: 'size(list) / list.size()', doc: 'how many items' },
    { signature: 'value in list', doc: 'membership' },
    { signature: 'string.contains / startsWith / endsWith / lowerAscii / upperAscii / trim', doc: 'string helpers' },
    { signature: 'string.matches(regex)', doc: 'regular expression match (the pattern must be a literal without nested repetition)' },
    { signature: 'timestamp("2024-01-01T00:00:00Z"), duration("1h")', doc: 'times, compared with incident.created_at' },
  ];
  return { env: finalEnv, version, schema, members, variables, functions, typesById, fieldsByKey, ctors: { Incident, Severity, Status, Person, Actor, CustomFields } };
}
