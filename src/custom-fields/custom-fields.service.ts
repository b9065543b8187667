import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.js';
import type { Db, Executor, Tx } from '../platform/db/index.js';
import { inTransaction } from '../platform/db/index.js';
import { isUniqueViolation } from '../platform/db/errors.js';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../platform/errors.js';
import type { Actor } from '../platform/events.js';
import { newId, nowIso } from '../platform/ids.js';
import { customFieldTypes, FIELD_KEY, fieldFromRow, isMany, type CustomField, type CustomFieldOption, type CustomFieldType, type CustomFieldValue, type CustomFieldValueView } from './model.js';
import type { CustomFieldsTable } from './tables.js';
import { displayOf, fieldError, FieldValueError, itemsOf, labelsOf, loadEntries, normalizeValue, sameValue, valueKey, type EntryInfo } from './values.js';
import '../catalog/tables.js';
import './tables.js';

// Custom fields: definitions (admins), values on incidents (set by the incidents use cases inside their
// transaction), the views incidents show and the filters the incident list applies. Catalog entries are read
// straight from the catalog's tables (bulk lookups); nothing here writes to the catalog.

export interface FieldInput {
  key: string;
  name: string;
  description?: string;
  type: CustomFieldType;
  /** Selects: the options in order. An option with an id keeps it (labels may change); one without is new. */
  options?: { id?: string; label: string }[];
  /** Catalog: the catalog type's id or type_name. */
  catalogType?: string | null;
  multiple?: boolean;
  requiredAtDeclaration?: boolean;
  requiredBeforeClose?: boolean;
  showInDeclare?: boolean;
  /** A raw value as the incidents API takes it, or null for none. */
  defaultValue?: unknown;
  rank?: number;
}

export type FieldPatch = Partial<FieldInput>;

/** One change of one field's value on an incident, labels as a person read them at the time. */
export interface ValueChange {
  field: CustomField;
  from: string[];
  to: string[];
}

/** One `custom_field=<key>:<value>` filter: the field and the value key to match, or null for "has a value". */
export interface ValueFilter {
  fieldId: string;
  valueKey: string | null;
}

const bool = (b: boolean) => (b ? 1 : 0);

export class CustomFieldsService {
  constructor(private readonly db: Db) {}

  /**
   * The live definitions as last read, with the version (migration 0031's `custom_fields` row) seen before reading
   * them. The database raises the version in every transaction that changes a definition, so a version that
   * matches means nothing changed since, whichever process changed it.
   */
  private live: { version: number; fields: readonly CustomField[] } | null = null;

  /** The definitions' version now: read it in a statement the caller sends anyway where it can (see createIncident). */
  async fieldsVersion(db: Executor = this.db): Promise<number> {
    const r = await db.selectFrom('sequences').select('value').where('name', '=', 'custom_fields').executeTakeFirst();
    return Number(r?.value ?? 0);
  }

  /**
   * The live fields at `version` (read by the caller in the same transaction, at most just before): the remembered
   * list when the version is the one it was read at, else read again. The version is read before the list, so a
   * change committed in between makes the list newer than its version, never older: the next call reads again.
   */
  async liveFields(db: Executor, version: number): Promise<readonly CustomField[]> {
    const live = this.live;
    if (live && live.version === version) return live.fields;
    const fields = Object.freeze(await this.listFields({}, db));
    this.live = { version, fields };
    return fields;
  }

  // ---- definitions ---------------------------------------------------------------------------------------

  /** Live fields (and deleted ones on request), by rank, then name. */
  async listFields(opts: { includeDeleted?: boolean } = {}, db: Executor = this.db): Promise<CustomField[]> {
    let q = db.selectFrom('custom_fields as f').leftJoin('catalog_types as t', 't.id', 'f.catalog_type_id').selectAll('f').select('t.type_name as catalog_type_name');
    if (!opts.includeDeleted) q = q.where('f.deleted_at', 'is', null);
    const rows = await q.orderBy('f.rank').orderBy('f.name').orderBy('f.id').execute();
    return rows.map((r) => fieldFromRow(r, r.catalog_type_name ?? null));
  }

  /** By id (deleted fields too) or key (the live field with that key). NotFoundError otherwise. */
  async getField(idOrKey: string, db: Executor = this.db): Promise<CustomField> {
    const f = await this.findField(idOrKey, db);
    if (!f) throw new NotFoundError('Custom field', idOrKey);
    return f;
  }

  private async findField(idOrKey: string, db: Executor): Promise<CustomField | null> {
    const base = db.selectFrom('custom_fields as f').leftJoin('catalog_types as t', 't.id', 'f.catalog_type_id').selectAll('f').select('t.type_name as catalog_type_name');
    const r =
      (await base.where('f.id', '=', idOrKey).executeTakeFirst()) ?? (await base.where('f.key', '=', idOrKey).where('f.deleted_at', 'is', null).executeTakeFirst());
    return r ? fieldFromRow(r, r.catalog_type_name ?? null) : null;
  }

  /** How many incidents have a value for each field. */
  async incidentCounts(db: Executor = this.db): Promise<Map<string, number>> {
    const rows = await db
      .selectFrom('incident_custom_field_values')
      .select(['field_id', sql<number>`count(distinct incident_id)`.as('n')])
      .groupBy('field_id')
      .execute();
    return new Map(rows.map((r) => [r.field_id, Number(r.n)]));
  }

  async incidentCount(fieldId: string, db: Executor = this.db): Promise<number> {
    const r = await db.selectFrom('incident_custom_field_values').select(sql<number>`count(distinct incident_id)`.as('n')).where('field_id', '=', fieldId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async createField(input: FieldInput, actor: Actor): Promise<CustomField> {
    const id = await inTransaction(this.db, async (tx) => {
      if (!FIELD_KEY.test(input.key)) throw new ValidationError('The key is not valid.', [{ path: 'key', message: 'must start with a lower-case letter and have only lower-case letters, digits and underscores (at most 63)' }]);
      if (await this.liveKeyTaken(tx, input.key)) throw new ConflictError('field_key_taken', `A custom field with the key ${input.key} already exists; keys are unique.`, { key: input.key });
      const def = await this.buildDefinition(tx, input, null);
      const now = nowIso();
      const id = newId();
      const rank = input.rank ?? Number((await tx.selectFrom('custom_fields').select(sql<number>`coalesce(max(rank), 0)`.as('m')).where('deleted_at', 'is', null).executeTakeFirst())?.m ?? 0) + 1;
      await tx
        .insertInto('custom_fields')
        .values({ id, key: input.key, ...def.row, rank, deleted_at: null, created_at: now, updated_at: now })
        .execute();
      await recordAudit(tx, { actor, action: 'custom_field.created', target: { kind: 'custom_field', id }, details: { key: input.key, name: def.row.name, type: def.row.type } });
      return id;
    }).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw new ConflictError('field_key_taken', `A custom field with the key ${input.key} already exists; keys are unique.`, { key: input.key });
      throw err;
    });
    return this.getField(id);
  }

  async updateField(idOrKey: string, patch: FieldPatch, actor: Actor): Promise<CustomField> {
    const id = await inTransaction(this.db, async (tx) => {
      const current = await this.getField(idOrKey, tx);
      if (current.deletedAt) throw new ConflictError('field_deleted', `${current.name} was deleted; it can no longer change.`);
      if (patch.key !== undefined && patch.key !== current.key) {
        throw new ValidationError(`A field's key never changes (filters and expressions use it): ${current.name} keeps the key ${current.key}.`, [{ path: 'key', message: `must stay ${current.key}` }]);
      }
      const used = await this.incidentCount(current.id, tx);
      const typeChanges = patch.type !== undefined && patch.type !== current.type;
      if (typeChanges && used > 0) {
        throw new ConflictError('field_type_locked', `The type of ${current.name} can no longer change: ${used} incident${used === 1 ? ' has' : 's have'} a value for it. Create a new field instead.`, { incidents: used });
      }
      // Between the two select types options (and the default) carry over; other type changes start afresh.
      const isSelect = (t: CustomFieldType) => t === 'single_select' || t === 'multi_select';
      const carry = !typeChanges || (isSelect(current.type) && isSelect(patch.type!));
      const merged: FieldInput = {
        key: current.key,
        name: patch.name ?? current.name,
        description: patch.description ?? current.description,
        type: patch.type ?? current.type,
        options: patch.options ?? (carry ? current.options : []),
        catalogType: patch.catalogType !== undefined ? patch.catalogType : typeChanges ? null : current.catalogTypeId,
        multiple: patch.multiple ?? current.multiple,
        requiredAtDeclaration: patch.requiredAtDeclaration ?? current.requiredAtDeclaration,
        requiredBeforeClose: patch.requiredBeforeClose ?? current.requiredBeforeClose,
        showInDeclare: patch.showInDeclare ?? current.showInDeclare,
        defaultValue: patch.defaultValue !== undefined ? patch.defaultValue : carry ? current.defaultValue : null,
        rank: patch.rank ?? current.rank,
      };
      const def = await this.buildDefinition(tx, merged, current);
      if (used > 0 && def.row.catalog_type_id !== current.catalogTypeId) {
        throw new ConflictError('field_type_locked', `${current.name} can no longer change its catalog type: ${used} incident${used === 1 ? ' has' : 's have'} a value for it. Create a new field instead.`, { incidents: used });
      }
      if (current.type === 'catalog' && current.multiple && def.row.multiple === 0) {
        const many = await tx
          .selectFrom('incident_custom_field_values')
          .select('incident_id')
          .where('field_id', '=', current.id)
          .groupBy('incident_id')
          .having(sql<number>`count(*)`, '>', 1)
          .execute();
        if (many.length > 0) throw new ConflictError('field_in_use', `${current.name} cannot take a single entry only: ${many.length} incident${many.length === 1 ? ' has' : 's have'} several. Remove the extra entries first.`, { incidents: many.length });
      }
      // An option incidents use cannot be removed: their values would lose their label. Rename it instead.
      const kept = new Set(def.options.map((o) => o.id));
      const removed = current.options.filter((o) => !kept.has(o.id));
      if (removed.length && !typeChanges) {
        const rows = await tx
          .selectFrom('incident_custom_field_values')
          .select(['value_key', sql<number>`count(*)`.as('n')])
          .where('field_id', '=', current.id)
          .where('value_key', 'in', removed.map((o) => o.id))
          .groupBy('value_key')
          .execute();
        if (rows.length) {
          const parts = rows.map((r) => `"${removed.find((o) => o.id === r.value_key)!.label}" is set on ${Number(r.n)} incident${Number(r.n) === 1 ? '' : 's'}`);
          throw new ConflictError('option_in_use', `Options in use cannot be removed (${parts.join('; ')}). Rename the option, or change those incidents first.`, {
            options: rows.map((r) => ({ id: r.value_key, label: removed.find((o) => o.id === r.value_key)!.label, incidents: Number(r.n) })),
          });
        }
      }
      await tx
        .updateTable('custom_fields')
        .set({ ...def.row, rank: merged.rank ?? current.rank, updated_at: nowIso() })
        .where('id', '=', current.id)
        .execute();
      await recordAudit(tx, { actor, action: 'custom_field.updated', target: { kind: 'custom_field', id: current.id }, details: { key: current.key, changed: Object.keys(patch) } });
      return current.id;
    });
    return this.getField(id);
  }

  /**
   * Soft-deletes a field: it leaves forms, incidents and filters (its values go), the timeline keeps its items.
   * A field incidents use needs `confirm` (409 `field_in_use` with the count otherwise).
   */
  async deleteField(idOrKey: string, opts: { confirm?: boolean }, actor: Actor): Promise<void> {
    await inTransaction(this.db, async (tx) => {
      const f = await this.getField(idOrKey, tx);
      if (f.deletedAt) throw new NotFoundError('Custom field', idOrKey);
      const used = await this.incidentCount(f.id, tx);
      if (used > 0 && !opts.confirm) {
        throw new ConflictError('field_in_use', `${f.name} is set on ${used} incident${used === 1 ? '' : 's'}. Deleting it removes it from them (their timelines keep its history); repeat with ?confirm=true to delete.`, { incidents: used });
      }
      const now = nowIso();
      await tx.deleteFrom('incident_custom_field_values').where('field_id', '=', f.id).execute();
      await tx.updateTable('custom_fields').set({ deleted_at: now, updated_at: now }).where('id', '=', f.id).execute();
      await recordAudit(tx, { actor, action: 'custom_field.deleted', target: { kind: 'custom_field', id: f.id }, details: { key: f.key, name: f.name, incidents: used } });
    });
  }

  private async liveKeyTaken(db: Executor, key: string): Promise<boolean> {
    return !!(await db.selectFrom('custom_fields').select('id').where('key', '=', key).where('deleted_at', 'is', null).executeTakeFirst());
  }

  /** Checks a whole definition and returns its row (without id, key, rank and times). */
  private async buildDefinition(db: Executor, input: FieldInput, current: CustomField | null) {
    const errors: FieldError[] = [];
    const name = input.name.trim();
    if (!name) errors.push({ path: 'name', message: 'must not be empty' });
    if (!customFieldTypes.includes(input.type)) errors.push({ path: 'type', message: `must be one of: ${customFieldTypes.join(', ')}` });
    const isSelect = input.type === 'single_select' || input.type === 'multi_select';
    let options: CustomFieldOption[] = [];
    if (isSelect) {
      const given = input.options ?? [];
      if (given.length === 0) errors.push({ path: 'options', message: `a ${input.type === 'single_select' ? 'single' : 'multi'} select needs at least one option` });
      const seen = new Map<string, number>();
      given.forEach((o, i) => {
        const label = o.label.trim();
        if (!label) errors.push({ path: `options.${i}.label`, message: 'must not be empty' });
        const lower = label.toLowerCase();
        if (seen.has(lower)) errors.push({ path: `options.${i}.label`, message: `"${label}" is already option ${seen.get(lower)! + 1}; option labels must be unique` });
        seen.set(lower, i);
        if (o.id !== undefined && !current?.options.some((c) => c.id === o.id)) {
          errors.push({ path: `options.${i}.id`, message: `${JSON.stringify(o.id)} is not an option of this field; leave the id out for a new option` });
        }
      });
      options = given.map((o) => ({ id: o.id ?? newId(), label: o.label.trim() }));
      const ids = new Set<string>();
      options.forEach((o, i) => {
        if (ids.has(o.id)) errors.push({ path: `options.${i}.id`, message: 'appears twice' });
        ids.add(o.id);
      });
    } else if (input.options && input.options.length > 0) {
      errors.push({ path: 'options', message: `only single_select and multi_select fields have options; a ${input.type} field has none` });
    }
    let catalogTypeId: string | null = null;
    let catalogTypeName: string | null = null;
    if (input.type === 'catalog') {
      if (!input.catalogType) {
        errors.push({ path: 'catalog_type', message: `a catalog field needs a catalog type; one of: ${await this.catalogTypeList(db)}` });
      } else {
        const t = await db.selectFrom('catalog_types').select(['id', 'type_name']).where((eb) => eb.or([eb('id', '=', input.catalogType!), eb('type_name', '=', input.catalogType!)])).executeTakeFirst();
        if (!t) errors.push({ path: 'catalog_type', message: `${JSON.stringify(input.catalogType)} is not a catalog type; one of: ${await this.catalogTypeList(db)}` });
        else {
          catalogTypeId = t.id;
          catalogTypeName = t.type_name;
        }
      }
    } else if (input.catalogType) {
      errors.push({ path: 'catalog_type', message: `only catalog fields have a catalog type; a ${input.type} field has none` });
    }
    if (errors.length) throw new ValidationError(`The custom field is not valid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}.`, errors);
    const multiple = input.type === 'multi_select' ? true : input.type === 'catalog' ? !!input.multiple : false;
    const probe: CustomField = {
      id: current?.id ?? '',
      key: input.key,
      name,
      description: input.description ?? '',
      type: input.type,
      options,
      catalogTypeId,
      catalogTypeName,
      multiple,
      requiredAtDeclaration: !!input.requiredAtDeclaration,
      requiredBeforeClose: !!input.requiredBeforeClose,
      showInDeclare: input.showInDeclare ?? true,
      defaultValue: null,
      rank: input.rank ?? 0,
      deletedAt: null,
      createdAt: '',
      updatedAt: '',
    };
    let defaultValue: CustomFieldValue | null = null;
    if (input.defaultValue !== undefined && input.defaultValue !== null) {
      try {
        // A default already stored may keep an entry archived since; a new one may not name one.
        defaultValue = await normalizeValue(db, probe, input.defaultValue, current?.defaultValue ?? null);
      } catch (err) {
        if (!(err instanceof FieldValueError)) throw err;
        throw new ValidationError(`The default value of ${name} is not valid: ${err.message}.`, [{ path: 'default_value', message: err.message }]);
      }
    }
    return {
      options,
      row: {
        name,
        description: input.description ?? '',
        type: input.type,
        options: JSON.stringify(options),
        catalog_type_id: catalogTypeId,
        multiple: bool(multiple),
        required_at_declaration: bool(!!input.requiredAtDeclaration),
        required_before_close: bool(!!input.requiredBeforeClose),
        show_in_declare: bool(input.showInDeclare ?? true),
        default_value: defaultValue === null ? null : JSON.stringify(defaultValue),
      } satisfies Partial<CustomFieldsTable>,
    };
  }

  /** Catalog type id → its display name (for the fields' JSON). */
  async catalogTypeNames(db: Executor = this.db): Promise<Map<string, string>> {
    const rows = await db.selectFrom('catalog_types').select(['id', 'name']).execute();
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  private async catalogTypeList(db: Executor): Promise<string> {
    const types = await db.selectFrom('catalog_types').select(['type_name', 'name']).orderBy('name').execute();
    return types.length ? types.map((t) => `${t.type_name} (${t.name})`).join(', ') : '(no catalog types exist yet)';
  }

  // ---- values on incidents -------------------------------------------------------------------------------

  /** The stored values of some incidents, live fields only, in field order. Only fields with a value appear. */
  async valuesFor(incidentIds: string[], db: Executor = this.db): Promise<Map<string, CustomFieldValueView[]>> {
    const out = new Map<string, CustomFieldValueView[]>();
    if (incidentIds.length === 0) return out;
    const unique = [...new Set(incidentIds)];
    const rows: { incident_id: string; field_id: string; value: string; position: number }[] = [];
    for (let i = 0; i < unique.length; i += 500) {
      rows.push(
        ...(await db
          .selectFrom('incident_custom_field_values')
          .select(['incident_id', 'field_id', 'value', 'position'])
          .where('incident_id', 'in', unique.slice(i, i + 500))
          .orderBy('incident_id')
          .orderBy('field_id')
          .orderBy('position')
          .execute()),
      );
    }
    return this.viewsOf(rows, db);
  }

  /**
   * Stored value rows → views by incident. With `fieldsVersion` (read in the same statement as the rows) the
   * remembered definitions serve when still current (liveFields), else they are listed.
   */
  async viewsOf(rows: { incident_id: string; field_id: string; value: string; position: number }[], db: Executor = this.db, fieldsVersion?: number): Promise<Map<string, CustomFieldValueView[]>> {
    const out = new Map<string, CustomFieldValueView[]>();
    if (rows.length === 0) return out;
    const fields = fieldsVersion === undefined ? await this.listFields({}, db) : await this.liveFields(db, fieldsVersion);
    const stored = this.group(rows, fields);
    const entries = await loadEntries(
      db,
      [...stored.values()].flatMap((byField) => [...byField].flatMap(([fid, v]) => (fields.find((f) => f.id === fid)?.type === 'catalog' ? itemsOf(v).map(String) : []))),
    );
    for (const [incidentId, byField] of stored) {
      const views: CustomFieldValueView[] = [];
      for (const f of fields) {
        const v = byField.get(f.id);
        if (v === undefined) continue;
        views.push({
          field: { id: f.id, key: f.key, name: f.name, type: f.type, multiple: f.multiple, catalogTypeName: f.catalogTypeName },
          value: v,
          display: displayOf(f, v, entries),
        });
      }
      if (views.length) out.set(incidentId, views);
    }
    return out;
  }

  /** Rows → incident id → field id → stored value (deleted fields' rows are skipped). */
  private group(rows: { incident_id: string; field_id: string; value: string; position: number }[], fields: readonly CustomField[]): Map<string, Map<string, CustomFieldValue>> {
    const byId = new Map(fields.map((f) => [f.id, f]));
    const out = new Map<string, Map<string, CustomFieldValue>>();
    const sorted = [...rows].sort((a, b) => Number(a.position) - Number(b.position));
    for (const r of sorted) {
      const f = byId.get(r.field_id);
      if (!f) continue;
      let m = out.get(r.incident_id);
      if (!m) out.set(r.incident_id, (m = new Map()));
      const item = JSON.parse(r.value) as string | number;
      if (isMany(f)) {
        const list = (m.get(f.id) as string[] | undefined) ?? [];
        list.push(String(item));
        m.set(f.id, list);
      } else {
        m.set(f.id, item);
      }
    }
    return out;
  }

  /** The raw input's keys (field keys or ids) → live fields; unknown or repeated fields are 400s naming them. */
  private async resolveInput(db: Executor, raw: Record<string, unknown>, fields: readonly CustomField[]): Promise<Map<string, { field: CustomField; raw: unknown }>> {
    const out = new Map<string, { field: CustomField; raw: unknown }>();
    const errors: FieldError[] = [];
    for (const [k, v] of Object.entries(raw)) {
      const f = fields.find((x) => x.key === k || x.id === k);
      if (!f) {
        errors.push({ path: `custom_field_values.${k}`, message: `no custom field has the key or id ${JSON.stringify(k)}; the fields are: ${fields.map((x) => x.key).join(', ') || '(none defined)'}` });
        continue;
      }
      if (out.has(f.id)) {
        errors.push(fieldError(f, `${f.name} is given twice (by key and by id)`));
        continue;
      }
      out.set(f.id, { field: f, raw: v });
    }
    if (errors.length) throw new ValidationError(`Unknown custom fields: ${errors.map((e) => e.path.slice('custom_field_values.'.length)).join(', ')}.`, errors);
    return out;
  }

  /**
   * The values a new incident would get (given values, else defaults), checked as a declaration checks them:
   * throws the declaration's ValidationError (a field error per bad value; `enforceRequired`, for declarations by
   * people and API keys, refuses a missing required-at-declaration field). Also used before a declaration is
   * queued (the Slack modal), so both refuse the same things.
   */
  async valuesForNewIncident(
    db: Executor,
    raw: Record<string, unknown>,
    opts: { enforceRequired: boolean; fieldsVersion?: number },
  ): Promise<{ fields: readonly CustomField[]; values: Map<string, CustomFieldValue> }> {
    const fields = await this.liveFields(db, opts.fieldsVersion ?? (await this.fieldsVersion(db)));
    const given = await this.resolveInput(db, raw, fields);
    const errors: FieldError[] = [];
    const values = new Map<string, CustomFieldValue>();
    for (const f of fields) {
      const g = given.get(f.id);
      let v: CustomFieldValue | null = null;
      if (g && g.raw !== null) {
        try {
          v = await normalizeValue(db, f, g.raw, null);
        } catch (err) {
          if (!(err instanceof FieldValueError)) throw err;
          errors.push(fieldError(f, err.message));
          continue;
        }
      } else if (!g && f.defaultValue !== null) {
        // A default whose entry was archived since, or whose option went, is not applied.
        v = await normalizeValue(db, f, f.defaultValue, null).catch((err: unknown) => {
          if (err instanceof FieldValueError) return null;
          throw err;
        });
      }
      if (v === null) {
        if (opts.enforceRequired && f.requiredAtDeclaration) errors.push(fieldError(f, `${f.name} is required when declaring an incident; ${this.describeExpected(f)}`));
        continue;
      }
      values.set(f.id, v);
    }
    if (errors.length) throw new ValidationError(`Custom fields are missing or not valid: ${errors.map((e) => `${e.path.slice('custom_field_values.'.length)} ${e.message}`).join('; ')}.`, errors);
    return { fields, values };
  }

  /**
   * Sets the values of a new incident inside its declaration transaction (valuesForNewIncident's rules).
   * Returns what was set, for the `incident_declared` timeline item.
   */
  async setForNewIncident(
    tx: Tx,
    incidentId: string,
    raw: Record<string, unknown>,
    opts: { enforceRequired: boolean; fieldsVersion?: number },
  ): Promise<{ key: string; name: string; labels: string[] }[]> {
    const { fields, values } = await this.valuesForNewIncident(tx, raw, opts);
    const entries = await this.entriesOf(tx, fields, [...values]);
    const summary: { key: string; name: string; labels: string[] }[] = [];
    for (const f of fields) {
      const v = values.get(f.id);
      if (v === undefined) continue;
      await this.writeValue(tx, incidentId, f, v);
      summary.push({ key: f.key, name: f.name, labels: labelsOf(f, v, entries) });
    }
    return summary;
  }

  /** Applies changes to an incident's values inside the caller's transaction; returns each field that changed. */
  async setForIncident(tx: Tx, incidentId: string, raw: Record<string, unknown>): Promise<ValueChange[]> {
    const fields = await this.listFields({}, tx);
    const given = await this.resolveInput(tx, raw, fields);
    if (given.size === 0) return [];
    const currentRows = await tx
      .selectFrom('incident_custom_field_values')
      .select(['incident_id', 'field_id', 'value', 'position'])
      .where('incident_id', '=', incidentId)
      .where('field_id', 'in', [...given.keys()])
      .execute();
    const current = this.group(currentRows, fields).get(incidentId) ?? new Map<string, CustomFieldValue>();
    const errors: FieldError[] = [];
    const next = new Map<string, CustomFieldValue | null>();
    for (const { field: f, raw: r } of given.values()) {
      try {
        next.set(f.id, await normalizeValue(tx, f, r, current.get(f.id) ?? null));
      } catch (err) {
        if (!(err instanceof FieldValueError)) throw err;
        errors.push(fieldError(f, err.message));
      }
    }
    if (errors.length) throw new ValidationError(`Custom field values are not valid: ${errors.map((e) => `${e.path.slice('custom_field_values.'.length)} ${e.message}`).join('; ')}.`, errors);
    const changed = [...given.values()].map((g) => g.field).filter((f) => !sameValue(f, current.get(f.id) ?? null, next.get(f.id) ?? null));
    if (changed.length === 0) return [];
    const entries = await this.entriesOf(tx, fields, [...current, ...[...next].filter((e): e is [string, CustomFieldValue] => e[1] !== null)]);
    const changes: ValueChange[] = [];
    for (const f of changed) {
      const to = next.get(f.id) ?? null;
      await this.writeValue(tx, incidentId, f, to);
      changes.push({ field: f, from: labelsOf(f, current.get(f.id) ?? null, entries), to: labelsOf(f, to, entries) });
    }
    return changes;
  }

  /** Live fields required before closing that the incident has no value for. */
  async missingBeforeClose(incidentId: string, db: Executor = this.db): Promise<CustomField[]> {
    const required = (await this.listFields({}, db)).filter((f) => f.requiredBeforeClose);
    if (required.length === 0) return [];
    const have = await db
      .selectFrom('incident_custom_field_values')
      .select('field_id')
      .distinct()
      .where('incident_id', '=', incidentId)
      .where('field_id', 'in', required.map((f) => f.id))
      .execute();
    const set = new Set(have.map((h) => h.field_id));
    return required.filter((f) => !set.has(f.id));
  }

  /**
   * Parses `custom_field=<key>:<value>` filters: catalog → entry id, selects → option id (or label), text and
   * link → exact text, number → equal, `*` → has a value. An unknown key or value is a 400 that says what exists.
   */
  async parseFilters(filters: string[], db: Executor = this.db): Promise<ValueFilter[]> {
    if (filters.length === 0) return [];
    const fields = await this.listFields({}, db);
    const out: ValueFilter[] = [];
    for (const raw of filters) {
      const at = raw.indexOf(':');
      const key = at < 0 ? raw : raw.slice(0, at);
      const value = at < 0 ? '' : raw.slice(at + 1);
      const f = fields.find((x) => x.key === key);
      if (!f) {
        throw new ValidationError(`No custom field has the key ${JSON.stringify(key)}.`, [{ path: 'custom_field', message: `filter as <key>:<value> (or <key>:*); the keys are: ${fields.map((x) => x.key).join(', ') || '(none defined)'}` }]);
      }
      if (at < 0 || value === '') throw new ValidationError(`Say which value of ${f.name} to find.`, [{ path: 'custom_field', message: `filter as ${key}:<value>, or ${key}:* for any value; ${this.describeExpected(f)}` }]);
      if (value === '*') {
        out.push({ fieldId: f.id, valueKey: null });
        continue;
      }
      let item: string | number = value;
      if (f.type === 'number') {
        const n = Number(value);
        if (value.trim() === '' || !Number.isFinite(n)) throw new ValidationError(`${f.name} holds numbers.`, [{ path: 'custom_field', message: `${key}:<number>, e.g. ${key}:3` }]);
        item = n;
      } else if (f.type === 'single_select' || f.type === 'multi_select') {
        const o = f.options.find((x) => x.id === value) ?? f.options.find((x) => x.label.toLowerCase() === value.toLowerCase());
        if (!o) throw new ValidationError(`${JSON.stringify(value)} is not an option of ${f.name}.`, [{ path: 'custom_field', message: `the options are ${f.options.map((x) => `${x.id} (${x.label})`).join(', ')}` }]);
        item = o.id;
      }
      out.push({ fieldId: f.id, valueKey: valueKey(f, item) });
    }
    return out;
  }

  /** A subquery of the ids of incidents matching one filter (the values table's lookup index answers it). */
  matching(filter: ValueFilter, db: Executor = this.db) {
    let q = db.selectFrom('incident_custom_field_values').select('incident_id').where('field_id', '=', filter.fieldId);
    if (filter.valueKey !== null) q = q.where('value_key', '=', filter.valueKey);
    return q;
  }

  describeExpected(f: CustomField): string {
    switch (f.type) {
      case 'text':
        return 'it takes text';
      case 'number':
        return 'it takes a number';
      case 'link':
        return 'it takes an http:// or https:// URL';
      case 'single_select':
        return `it takes one of: ${f.options.map((o) => JSON.stringify(o.label)).join(', ')}`;
      case 'multi_select':
        return `it takes a list of: ${f.options.map((o) => JSON.stringify(o.label)).join(', ')}`;
      case 'catalog':
        return `it takes ${f.multiple ? 'the ids of' : 'the id of'} ${f.catalogTypeName ?? 'catalog'} entr${f.multiple ? 'ies' : 'y'}`;
    }
  }

  private async entriesOf(db: Executor, fields: readonly CustomField[], values: [string, CustomFieldValue][]): Promise<Map<string, EntryInfo>> {
    const catalogIds = new Set(fields.filter((f) => f.type === 'catalog').map((f) => f.id));
    const ids = values.filter(([fid]) => catalogIds.has(fid)).flatMap(([, v]) => itemsOf(v).map(String));
    return ids.length ? loadEntries(db, ids) : new Map();
  }

  private async writeValue(tx: Tx, incidentId: string, f: CustomField, v: CustomFieldValue | null): Promise<void> {
    await tx.deleteFrom('incident_custom_field_values').where('incident_id', '=', incidentId).where('field_id', '=', f.id).execute();
    const items = itemsOf(v);
    if (items.length === 0) return;
    await tx
      .insertInto('incident_custom_field_values')
      .values(items.map((item, position) => ({ incident_id: incidentId, field_id: f.id, value_key: valueKey(f, item), value: JSON.stringify(item), position })))
      .execute();
  }
}
