// The write-up's API calls and shapes, typed from the server's OpenAPI document (web/src/api/schema.d.ts).
import { call } from '../../api.js';
import type { Body, Ok } from '../../api/operations.js';

export type WriteUp = Ok<'/api/v1/incidents/{incident_id}/write_up', 'get'>['write_up'];
export type PostIncident = Ok<'/api/v1/incidents/{incident_id}/post_incident', 'get'>['post_incident'];
export type PostIncidentItem = PostIncident['items'][number];
export type WriteUpTemplate = Ok<'/api/v1/settings/write_up_template', 'get'>['template'];
export type TemplatePreview = Ok<'/api/v1/settings/write_up_template/preview', 'post'>;

const p = (incidentId: string) => ({ incident_id: incidentId });

export const writeUpApi = {
  get: (incidentId: string) => call('get', '/api/v1/incidents/{incident_id}/write_up', { params: p(incidentId) }).then((r) => r.write_up),
  generate: (incidentId: string, regenerate = false) => call('post', '/api/v1/incidents/{incident_id}/write_up', { params: p(incidentId), body: { regenerate } }).then((r) => r.write_up),
  save: (incidentId: string, body: Body<'/api/v1/incidents/{incident_id}/write_up', 'patch'>) => call('patch', '/api/v1/incidents/{incident_id}/write_up', { params: p(incidentId), body }).then((r) => r.write_up),
  exportUrl: (incidentId: string, ext: 'md' | 'html') => `/api/v1/incidents/${encodeURIComponent(incidentId)}/write_up/export.${ext}`,
  checklist: (incidentId: string) => call('get', '/api/v1/incidents/{incident_id}/post_incident', { params: p(incidentId) }).then((r) => r.post_incident),
  setItem: (incidentId: string, item: PostIncidentItem['item'], body: Body<'/api/v1/incidents/{incident_id}/post_incident/items/{item}', 'post'>) =>
    call('post', '/api/v1/incidents/{incident_id}/post_incident/items/{item}', { params: { incident_id: incidentId, item }, body }).then((r) => r.post_incident),
  template: () => call('get', '/api/v1/settings/write_up_template').then((r) => r.template),
  saveTemplate: (markdown: string) => call('put', '/api/v1/settings/write_up_template', { body: { markdown } }).then((r) => r.template),
  resetTemplate: () => call('delete', '/api/v1/settings/write_up_template').then((r) => r.template),
  previewTemplate: (markdown: string, incidentId: string) => call('post', '/api/v1/settings/write_up_template/preview', { body: { markdown, incident_id: incidentId } }),
};
