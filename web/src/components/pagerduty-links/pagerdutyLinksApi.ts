// The related-PagerDuty-incident endpoints, for the incident page and the PagerDuty settings page.
import { call } from '../../api.js';
import type { Body, Ok } from '../../api/operations.js';

export type PdLink = Ok<'/api/v1/incidents/{id}/pagerduty_incidents', 'get'>['pagerduty_incidents'][number];
export type AckOffer = Ok<'/api/v1/incidents/{id}/pagerduty_ack_offers', 'get'>['offers'][number];
export type AutoCreateRule = Ok<'/api/v1/integrations/pagerduty/auto_create_rules', 'get'>['rules'][number];

const links = '/api/v1/incidents/{id}/pagerduty_incidents';
const link = '/api/v1/incidents/{id}/pagerduty_incidents/{link_id}';
const rules = '/api/v1/integrations/pagerduty/auto_create_rules';

export const pagerdutyLinksApi = {
  list: async (id: string) => (await call('get', links, { params: { id } })).pagerduty_incidents,
  attach: async (id: string, ref: string) => (await call('post', links, { params: { id }, body: { pagerduty_incident: ref } })).pagerduty_incident,
  detach: (id: string, linkId: string) => call('delete', link, { params: { id, link_id: linkId } }),
  related: (id: string, linkId: string, related: boolean) => call('post', `${link}/related`, { params: { id, link_id: linkId }, body: { related } }),
  mirror: (id: string, linkId: string, mirror: boolean) => call('patch', link, { params: { id, link_id: linkId }, body: { mirror } }),
  /** Offers to acknowledge made to people auto-acknowledgement did not act for (not paged, or no PagerDuty user). */
  offers: async (id: string) => (await call('get', '/api/v1/incidents/{id}/pagerduty_ack_offers', { params: { id } })).offers,
  acceptOffer: (offerId: string) => call('post', '/api/v1/pagerduty_ack_offers/{id}/acknowledge', { params: { id: offerId } }),
  resolveOpen: (id: string) => call('post', `${links}/resolve`, { params: { id }, body: {} }),
  rules: async () => (await call('get', rules)).rules,
  addRule: (body: Body<typeof rules, 'post'>) => call('post', rules, { body }),
  updateRule: (id: string, body: Body<`${typeof rules}/{id}`, 'patch'>) => call('patch', `${rules}/{id}`, { params: { id }, body }),
  deleteRule: (id: string) => call('delete', `${rules}/{id}`, { params: { id } }),
};
