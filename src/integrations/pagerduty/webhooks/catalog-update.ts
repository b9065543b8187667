import type { CatalogService, EntryWrite } from '../../../catalog/catalog.service.js';
import { newId } from '../../../platform/ids.js';
import { IGNORE_MARKER } from '../catalog-source.js';
import type { PdServiceEventData, PdWebhookEvent } from '../client/events.js';
import { TYPE } from '../directory.js';
import { FIRST_ACCOUNT, pdKey } from '../accounts.js';

// service.created / service.updated / service.deleted keep the PagerDuty Service catalog entries fresh between
// syncs. Written through the catalog service's own snapshot/apply functions, in the same shape the sync engine
// writes (so the next sync sees no change), references resolved to the entries the sync created.

export async function applyServiceEvent(catalog: CatalogService, eventType: string, s: PdServiceEventData, account: { id: string; name: string } = { id: FIRST_ACCOUNT, name: '' }): Promise<'updated' | 'archived' | 'unchanged' | 'no_catalog'> {
  const type = await catalog.findType(TYPE.services);
  if (!type) return 'no_catalog';
  // The delivering account's entry (another account's external ids are `<account>:<PagerDuty id>`).
  const key = (id: string) => pdKey(account.id, id);
  const stored = await catalog.snapshot(type.id);
  const current = stored.get(key(s.id));
  const ignored = typeof s.description === 'string' && s.description.toLowerCase().includes(IGNORE_MARKER);
  if (eventType === 'service.deleted' || ignored) {
    if (!current || current.archivedAt !== null) return 'unchanged';
    await catalog.archiveEntries([current.id]);
    return 'archived';
  }
  const idsOf = async (typeName: string, externalIds: string[]): Promise<string[]> => {
    if (externalIds.length === 0) return [];
    const t = await catalog.findType(typeName);
    if (!t) return [];
    const snap = await catalog.snapshot(t.id);
    return [...new Set(externalIds.map((x) => snap.get(key(x))).filter((e) => e && e.archivedAt === null).map((e) => e!.id))].sort();
  };
  const policy = await idsOf(TYPE.policies, s.escalation_policy?.id ? [s.escalation_policy.id] : []);
  const teams = await idsOf('PagerDutyTeam', (s.teams ?? []).map((t) => t.id).filter(Boolean));
  const name = s.name ?? s.summary ?? '';
  const values: Record<string, unknown> = {};
  const refs: [string, string][] = [];
  for (const a of type.attributes) {
    if (a.id === 'name') values.name = name;
    else if (a.id === 'description') values.description = s.description ?? '';
    else if (a.id === 'status') values.status = s.status ?? '';
    else if (a.id === 'escalation_policy') {
      values.escalation_policy = policy[0] ?? null;
      if (policy[0]) refs.push([a.id, policy[0]]);
    } else if (a.id === 'teams') {
      values.teams = teams;
      for (const t of teams) refs.push([a.id, t]);
    } else if (a.id === 'account' && account.name) values.account = account.name;
    else values[a.id] = current ? (JSON.parse(current.attributes) as Record<string, unknown>)[a.id] ?? null : a.array ? [] : null;
  }
  const w: EntryWrite = {
    id: current?.id ?? newId(),
    externalId: key(s.id),
    name: name || s.id,
    aliases: current?.aliases ?? '[]',
    attributes: JSON.stringify(values),
    externalUrl: s.html_url ?? current?.externalUrl ?? null,
    refs,
    isNew: !current,
  };
  if (current && current.archivedAt === null && current.name === w.name && current.attributes === w.attributes && current.externalUrl === w.externalUrl) return 'unchanged';
  await catalog.applyWrites(type.id, [w]);
  return 'updated';
}

/** The catalog's webhook subscriber: service events keep the PagerDuty Service entries fresh. */
export function catalogSubscriber(catalog: CatalogService, accountName: (account: string) => Promise<string | null> = async () => null) {
  return async (ev: PdWebhookEvent): Promise<string | void> => {
    if (ev.kind !== 'service') return;
    const account = ev.account ?? FIRST_ACCOUNT;
    return `catalog_${await applyServiceEvent(catalog, ev.event_type, ev.data, { id: account, name: (await accountName(account)) ?? '' })}`;
  };
}
