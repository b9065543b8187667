import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

// Single sign-on from the environment: all three OIDC_* variables or none, and the secret never in a message.
describe('OIDC_* configuration', () => {
  it('reads issuer, client id, secret and provider name', () => {
    const cfg = loadConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'fb', OIDC_CLIENT_SECRET: 's3cret-value', OIDC_PROVIDER_NAME: 'Okta' });
    expect(cfg.oidc).toEqual({ issuer: 'https://idp.example.com', clientId: 'fb', clientSecret: 's3cret-value', providerName: 'Okta' });
    expect(cfg.oidcAllowHttp).toBeUndefined();
    expect(loadConfig({}).oidc).toBeNull();
  });

  it('refuses a partial set, naming the variables', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'fb' })).toThrow(/OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET go together/);
  });

  it('never shows the secret in an error', () => {
    try {
      loadConfig({ OIDC_ISSUER: 'not a url', OIDC_CLIENT_ID: 'fb', OIDC_CLIENT_SECRET: '   ' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('OIDC_ISSUER');
    }
    try {
      loadConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'fb', OIDC_CLIENT_SECRET: 'x'.repeat(2001) });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('OIDC_CLIENT_SECRET=(value hidden)');
      expect((err as Error).message).not.toContain('x'.repeat(50));
    }
  });
});
