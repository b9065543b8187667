import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { ensureWebBuilt } from './browser/web-build.js';
import { ownerClient, signInWithLink, startTestFirebreak } from './helpers.js';

describe('operations', () => {
  it('keeps everything across a restart, and numbers continue', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'firebreak-restart-'));
    try {
      const first = await startTestFirebreak('sqlite', { dataDir, keepData: true });
      const owner = await ownerClient(first);
      const inc = (await owner.post('/api/v1/incidents', { name: 'Survives restarts', triage: true })).body.incident;
      await owner.post(`/api/v1/incidents/${inc.id}/actions/accept`);
      const key = (await owner.post('/api/v1/api_keys', { name: 'k', scopes: ['read'] })).body.token;
      await first.stop();

      const second = await startTestFirebreak('sqlite', { dataDir, keepData: true });
      expect(second.initialLoginUrl).toBeNull(); // the owner already signed in: no new link printed
      const again = await signInWithLink(second.baseUrl, await mintLink(second));
      const got = (await again.get(`/api/v1/incidents/${inc.reference}`)).body.incident;
      expect(got.status.name).toBe('Investigating');
      expect((await again.get(`/api/v1/incidents/${inc.id}/timeline`)).body.items).toHaveLength(2);
      const next = (await again.post('/api/v1/incidents', { name: 'After restart' })).body.incident;
      expect(next.number).toBe(inc.number + 1);
      const byKey = await fetch(`${second.baseUrl}/api/v1/incidents`, { headers: { authorization: `Bearer ${key}` } });
      expect(byKey.status).toBe(200);
      await second.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    const fb = await startTestFirebreak('sqlite');
    try {
      expect((await fetch(`${fb.baseUrl}/healthz`)).status).toBe(200);
      const owner = await ownerClient(fb);
      await owner.post('/api/v1/incidents', { name: 'for metrics' });
      const metrics = await (await fetch(`${fb.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/firebreak_http_request_duration_seconds_bucket\{.*route="\/api\/v1\/incidents".*status="201"/);
      expect(metrics).toContain('firebreak_jobs{state="pending"}');
      const doc = (await (await fetch(`${fb.baseUrl}/api/openapi.json`)).json()) as any;
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/incidents', '/api/v1/incidents/{id}/actions/accept', '/api/v1/incidents/{id}/timeline', '/api/v1/api_keys', '/api/v1/users', '/api/v1/severities', '/api/v1/statuses']));
      expect(doc.paths['/api/v1/incidents'].post.requestBody.content['application/json'].schema.properties.name.maxLength).toBe(250);
      expect((await fetch(`${fb.baseUrl}/api/docs/`)).status).toBe(200);
    } finally {
      await fb.destroy();
    }
  });

  it('never writes API keys, session cookies or sign-in tokens to the logs', async () => {
    const fb = await startTestFirebreak('sqlite', { logLevel: 'debug' });
    try {
      const owner = await ownerClient(fb);
      const token = (await owner.post('/api/v1/api_keys', { name: 'secret-check', scopes: ['read'] })).body.token as string;
      await fetch(`${fb.baseUrl}/api/v1/incidents`, { headers: { authorization: `Bearer ${token}` } });
      await fetch(`${fb.baseUrl}/api/v1/incidents`, { headers: { authorization: `Bearer ${token}x` } });
      const logs = fb.logs.text();
      expect(logs.length).toBeGreaterThan(0);
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(owner.cookie.split('=')[1]!);
      expect(logs).not.toContain(new URL(fb.initialLoginUrl!).searchParams.get('token')!);
    } finally {
      await fb.destroy();
    }
  });

  it('explains bad configuration by variable', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('PORT="eighty"');
      expect(msg).toContain('DATABASE_URL="mysql://x": must be a PostgreSQL URL');
      expect(msg).toContain('LOG_LEVEL="loud": must be one of');
    }
    expect(loadConfig({}).database.kind).toBe('sqlite');
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db', FIREBREAK_MASTER_KEY: key }).database).toMatchObject({ kind: 'postgres', url: 'postgres://h/db' });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://h/db' })).toThrow(/FIREBREAK_MASTER_KEY is required with DATABASE_URL/);
    expect(() => loadConfig({ FIREBREAK_MASTER_KEY: 'short' })).toThrow(/FIREBREAK_MASTER_KEY=\(value hidden\): must be 32 random bytes/);
    // A mistyped key is still a key: it never appears in the message.
    expect(() => loadConfig({ FIREBREAK_MASTER_KEY: 'not-a-real-key-but-secret' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('not-a-real-key-but-secret') }));
  });
});

async function mintLink(fb: { app: { users: any }; baseUrl: string }): Promise<string> {
  const owner = (await fb.app.users.list()).find((u: any) => u.role === 'owner');
  return (await fb.app.users.createLoginLink(owner.id, fb.baseUrl, { kind: 'system' }, { kind: 'system', ref: 'test' })).url;
}

describe('web app serving', () => {
  it('serves the app for deep links, assets as files, and 404 for missing assets', async () => {
    ensureWebBuilt();
    const fb = await startTestFirebreak('sqlite');
    try {
      const deep = await fetch(`${fb.baseUrl}/incidents/INC-1`);
      expect(deep.status).toBe(200);
      expect(await deep.text()).toContain('<div id="root">');
      const missing = await fetch(`${fb.baseUrl}/assets/nope.js`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as any).error.code).toBe('not_found');
      const html = await (await fetch(`${fb.baseUrl}/`)).text();
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      const js = await fetch(`${fb.baseUrl}${asset}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toContain('javascript');
      expect((await js.text()).length).toBeGreaterThan(1000);
    } finally {
      await fb.destroy();
    }
  });
});
