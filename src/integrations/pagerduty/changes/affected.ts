import type { Executor } from '../../../platform/db/index.js';
import { TYPE } from '../directory.js';
import { FIRST_ACCOUNT, pdKey } from '../accounts.js';

// Which PagerDuty services an incident affects, and which PagerDuty incidents are linked to it: the two places
// recent changes are looked up from. Services come from any live catalog custom field over PagerDutyService (set
// by a person) and from the linked PagerDuty incidents (their service); a service found both ways is listed once.
// Services are named by their catalog external id (`<account>:<id>` for an account other than the first), so the
// account a service belongs to travels with it; linked PagerDuty incidents carry the account of their link.

export interface AffectedService {
  /** The service's catalog external id: PagerDuty's id, `<account>:<id>` for an account other than the first. */
  id: string;
  name: string;
  /** How the incident names it: a custom field (its name), or a linked PagerDuty incident. */
  via: { field: string | null; pagerdutyIncidents: string[] };
}

export interface LinkedPagerDutyIncident {
  /** PagerDuty's incident id (in `account`). */
  id: string;
  account: string;
  number: number | null;
  title: string;
  serviceId: string | null;
}

export async function affectedServices(db: Executor, incidentId: string): Promise<{ services: AffectedService[]; linked: LinkedPagerDutyIncident[] }> {
  const fromFields = await db
    .selectFrom('incident_custom_field_values as v')
    .innerJoin('custom_fields as cf', 'cf.id', 'v.field_id')
    .innerJoin('catalog_types as t', 't.id', 'cf.catalog_type_id')
    .innerJoin('catalog_entries as e', 'e.id', 'v.value_key')
    .where('v.incident_id', '=', incidentId)
    .where('cf.type', '=', 'catalog')
    .where('cf.deleted_at', 'is', null)
    .where('t.type_name', '=', TYPE.services)
    .select(['e.external_id', 'e.name', 'cf.name as field_name', 'cf.rank', 'v.position'])
    .orderBy('cf.rank')
    .orderBy('v.position')
    .execute();
  const links = await db
    .selectFrom('pagerduty_incident_links')
    .select(['pd_incident_id', 'account_id', 'pd_number', 'title', 'service_id', 'service_name'])
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .execute();

  const byId = new Map<string, AffectedService>();
  for (const r of fromFields) {
    const s = byId.get(r.external_id);
    if (s) s.via.field ??= r.field_name;
    else byId.set(r.external_id, { id: r.external_id, name: r.name, via: { field: r.field_name, pagerdutyIncidents: [] } });
  }
  const linked: LinkedPagerDutyIncident[] = [];
  for (const l of links) {
    const account = l.account_id ?? FIRST_ACCOUNT;
    const serviceKey = l.service_id ? pdKey(account, l.service_id) : null;
    linked.push({ id: l.pd_incident_id, account, number: l.pd_number === null ? null : Number(l.pd_number), title: l.title, serviceId: serviceKey });
    if (!serviceKey) continue;
    const s = byId.get(serviceKey);
    if (s) s.via.pagerdutyIncidents.push(l.pd_incident_id);
    else byId.set(serviceKey, { id: serviceKey, name: l.service_name ?? l.service_id!, via: { field: null, pagerdutyIncidents: [l.pd_incident_id] } });
  }
  return { services: [...byId.values()], linked };
}
