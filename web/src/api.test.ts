// The typed API client sends what the server's routes expect: `{…}` path segments filled in and URL-encoded
// (an incident reference typed by a person can hold anything), empty query values left out, a JSON body with
// the CSRF token on every write, and a 204 read as no answer.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, setCsrfToken } from './api.js';
import { escalationsApi } from './components/escalations/escalationsApi.js';
import { pagerdutyLinksApi } from './components/pagerduty-links/pagerdutyLinksApi.js';

interface Sent {
  url: string;
  method: string;
  body: unknown;
  csrf: string | undefined;
}

describe('the web app API client', () => {
  let sent: Sent[];
  let answer: () => Response;

  beforeEach(() => {
    sent = [];
    answer = () => new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const headers = init.headers as Record<string, string>;
      sent.push({ url, method: init.method ?? 'GET', body: init.body === undefined ? undefined : JSON.parse(String(init.body)), csrf: headers['x-csrf-token'] });
      return answer();
    });
    setCsrfToken('csrf-1');
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setCsrfToken(null);
  });

  it('fills path segments URL-encoded, by name', async () => {
    answer = () => Response.json({ incident: { id: 'x' } });
    await api.incident('INC 7/../users?x=1');
    await pagerdutyLinksApi.mirror('inc-1', 'link/2', true);
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/incidents/INC%207%2F..%2Fusers%3Fx%3D1',
      'PATCH /api/v1/incidents/inc-1/pagerduty_incidents/link%2F2',
    ]);
    expect(sent[1]!.body).toEqual({ mirror: true });
  });

  it('leaves out empty query values and joins lists with commas', async () => {
    answer = () => Response.json({ incidents: [], next_cursor: null, options: [] });
    await api.incidents({ status_category: ['triage', 'live'], severity_id: undefined, limit: 25 });
    await escalationsApi.options('user', '');
    await escalationsApi.options('escalation_policy', 'db team');
    expect(sent.map((s) => s.url)).toEqual([
      '/api/v1/incidents?status_category=triage%2Clive&limit=25',
      '/api/v1/integrations/pagerduty/escalation_options?type=user&limit=20',
      '/api/v1/integrations/pagerduty/escalation_options?type=escalation_policy&limit=20&query=db+team',
    ]);
    expect(sent.every((s) => s.body === undefined && s.csrf === undefined)).toBe(true);
  });

  it('sends every write as JSON with the CSRF token, an empty object when the operation takes no body', async () => {
    answer = () => new Response(null, { status: 204 });
    expect(await api.revokeApiKey('key-1')).toBeUndefined();
    answer = () => Response.json({ incident: { id: 'i-1' } });
    const after = await api.action('i-1', 'status', { status_id: 'st-2' });
    expect(after).toEqual({ id: 'i-1' });
    expect(sent).toEqual([
      { url: '/api/v1/api_keys/key-1', method: 'DELETE', body: {}, csrf: 'csrf-1' },
      { url: '/api/v1/incidents/i-1/actions/status', method: 'POST', body: { status_id: 'st-2' }, csrf: 'csrf-1' },
    ]);
  });
});
