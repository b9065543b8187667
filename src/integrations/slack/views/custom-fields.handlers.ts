import type { App as BoltApp } from '@slack/bolt';
import type { Incident } from '../../../incidents/incidents.service.js';
import type { SlackContext } from '../slack.context.js';
import { catalogEntryNames, searchCatalogOptions } from './catalog-options.js';
import { CATALOG_ACTION_PREFIX, catalogTypeOfAction, declareFieldBlocks, declareFields, fieldsView, optionOf, type FieldDef, type FieldValue, type Prefill } from './custom-fields.view.js';

// The Slack side of custom fields that touches Firebreak: which fields a modal shows and with what values, and
// the options of catalog pickers (`block_suggestion`, answered from one indexed query; see catalog-options.ts).

/** The custom-field blocks of the declare modal, defaults prefilled (catalog defaults by name). */
export async function declareFieldBlocksFor(ctx: SlackContext, room: number): Promise<Record<string, unknown>[]> {
  const fields = declareFields(await ctx.customFields.listFields(), room);
  const entryIds = fields.filter((f) => f.type === 'catalog' && f.defaultValue !== null).flatMap((f) => (Array.isArray(f.defaultValue) ? f.defaultValue : [String(f.defaultValue)]));
  return declareFieldBlocks(fields, room, await catalogEntryNames(ctx.db, entryIds));
}

/** The incident's current values by field id, as the modal prefills them (catalog entries and options by name). */
export function currentValues(incident: Incident): { values: Map<string, FieldValue>; prefill: Map<string, Prefill> } {
  const values = new Map<string, FieldValue>();
  const prefill = new Map<string, Prefill>();
  for (const v of incident.customFields) {
    values.set(v.field.id, v.value);
    const names: Record<string, string> = {};
    for (const d of v.display) if (d.id) names[d.id] = d.archived && !/\(archived\)$/.test(d.label) ? `${d.label} (archived)` : d.label;
    prefill.set(v.field.id, { value: v.value, names });
  }
  return { values, prefill };
}

/** The /incident field modal for this incident, or null when no custom field is defined. */
export async function fieldsModalFor(ctx: SlackContext, incident: Incident): Promise<Record<string, unknown> | null> {
  const fields: FieldDef[] = await ctx.customFields.listFields();
  if (!fields.length) return null;
  return fieldsView({ incidentId: incident.id, reference: incident.reference }, fields, currentValues(incident).prefill);
}

export function noFieldsText(publicUrl: string): string {
  return `No custom fields are defined yet. An admin can add them in Firebreak: ${publicUrl.replace(/\/$/, '')}/settings/custom-fields (Settings → Custom fields).`;
}

/** Options for catalog pickers: live entries of the picker's catalog type whose name contains the typed text. */
export function registerCatalogOptions(bolt: BoltApp, ctx: SlackContext): void {
  bolt.options({ action_id: new RegExp(`^${CATALOG_ACTION_PREFIX}`) }, async ({ options, ack: boltAck }) => {
    const ack = boltAck as unknown as (r: { options: unknown[] }) => Promise<void>;
    const payload = options as { action_id?: string; value?: string };
    const typeId = catalogTypeOfAction(String(payload.action_id ?? ''));
    try {
      const found = typeId ? await searchCatalogOptions(ctx.db, typeId, String(payload.value ?? '')) : [];
      await ack({ options: found.map((e) => optionOf(e.id, e.name)) });
    } catch (err) {
      ctx.logger.error({ err }, 'catalog options search failed');
      await ack({ options: [] });
    }
  });
}
