import type { Incident, IncidentsService } from '../../../incidents/incidents.service.js';

// The action ids of the PagerDuty messages, and the Accept / Decline / Merge elements of a triage announcement
// (rendered again on every update while the incident is in triage, so "Merge into…" lists what is open now).

export const PD_ACTIONS = {
  relatedYes: 'pd_related_yes',
  relatedNo: 'pd_related_no',
  ackOffer: 'pd_ack_offer',
  accept: 'pd_triage_accept',
  decline: 'pd_triage_decline',
  resolve: 'pd_resolve_linked',
  merge: 'pd_triage_merge',
} as const;

export const button = (text: string, action_id: string, value: string, style?: 'primary' | 'danger') => ({ type: 'button', text: { type: 'plain_text', text }, action_id, value, ...(style ? { style } : {}) });

export async function triageActions(incidents: Pick<IncidentsService, 'listIncidents'>, inc: Pick<Incident, 'id'>): Promise<unknown[]> {
  const open = (await incidents.listIncidents({ statusCategories: ['triage', 'live'], limit: 26 })).incidents.filter((i) => i.id !== inc.id).slice(0, 25);
  const merge = open.length
    ? [{ type: 'static_select', action_id: PD_ACTIONS.merge, placeholder: { type: 'plain_text', text: 'Merge into…' }, options: open.map((o) => ({ text: { type: 'plain_text', text: `${o.reference} ${o.name}`.slice(0, 75) }, value: `${inc.id}|${o.id}` })) }]
    : [];
  return [button('Accept', PD_ACTIONS.accept, inc.id, 'primary'), button('Decline', PD_ACTIONS.decline, inc.id, 'danger'), ...merge];
}
