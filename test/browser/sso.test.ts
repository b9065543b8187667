// Single sign-on in Chromium against a real OpenID provider (oidc-provider in this process): an owner sets it up on
// Settings → Single sign-on, people click "Sign in with Test IdP" on the sign-in page, log in at the provider and
// land signed in (created with the default role, or the role their groups map to); "require SSO" refuses a
// non-owner's sign-in link while an owner's still works; an unverified email and a provider that is down end on
// a clear page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestProvider, type TestProvider } from '../sso/provider.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('single sign-on in Chromium', () => {
  let stack: BrowserStack;
  let idp: TestProvider;
  let ownerLink = '';

  beforeAll(async () => {
    stack = await startBrowserStack({ oidcAllowHttp: true });
    idp = await startTestProvider({
      redirectUri: `${stack.fb.baseUrl}/auth/sso/callback`,
      accounts: [
        { email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' },
        { email: 'grace@example.com', email_verified: true, name: 'Grace Hopper', groups: ['sre'] },
        { email: 'mallory@example.com', email_verified: false, name: 'Mallory' },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await idp?.stop();
    await stack?.close();
  });

  async function signInAtProvider(page: Page, email: string): Promise<void> {
    await page.goto('/signin');
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.getByRole('heading', { name: 'Test identity provider' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('an owner sets up single sign-on on the settings page', async () => {
    await inPage(stack, 'sso-settings', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings/sso');
      await page.getByRole('heading', { name: 'Single sign-on', level: 1 }).waitFor();
      await page.getByLabel('Issuer URL').fill(idp.issuer);
      await page.getByLabel('Client id').fill(idp.clientId);
      await page.getByLabel('Client secret').fill(idp.clientSecret);
      await page.getByLabel('Provider name').fill('Test IdP');
      await page.getByLabel('Groups claim').fill('groups');
      await page.getByLabel('Roles from groups').fill('sre: admin');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await page.getByText('Single sign-on is on').waitFor();
      await page.getByText('A secret is stored (encrypted)').waitFor();
      expect(await page.getByLabel('Client secret').inputValue()).toBe('');
      await page.screenshot({ path: '/tmp/fb-sso-settings.png', fullPage: true });
      const api = await apiAs(page);
      const me = (await api('GET', '/api/v1/session')).user;
      ownerLink = (await api('POST', `/api/v1/users/${me.id}/login_link`)).url;
    });
  }, 60_000);

  it('a new person clicks "Sign in with Test IdP", logs in at the provider and lands signed in as a responder', async () => {
    await inPage(stack, 'sso-first-sign-in', async (page) => {
      await page.goto('/signin');
      await page.screenshot({ path: '/tmp/fb-sso-signin.png', fullPage: true });
      await signInAtProvider(page, 'ada@example.com');
      await page.waitForURL((u) => u.pathname === '/');
      const me = await (await page.request.get('/api/v1/session')).json();
      expect(me.user).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com', role: 'responder' });
    });
  }, 60_000);

  it('a person in the sre group becomes an admin', async () => {
    await inPage(stack, 'sso-groups', async (page) => {
      await signInAtProvider(page, 'grace@example.com');
      await page.waitForURL((u) => u.pathname === '/');
      const me = await (await page.request.get('/api/v1/session')).json();
      expect(me.user).toMatchObject({ email: 'grace@example.com', role: 'admin' });
    });
  }, 60_000);

  it('an unverified email ends on a clear page', async () => {
    await inPage(stack, 'sso-unverified', async (page) => {
      await signInAtProvider(page, 'mallory@example.com');
      await page.getByRole('heading', { name: 'Email address not verified' }).waitFor();
      await page.screenshot({ path: '/tmp/fb-sso-unverified.png', fullPage: true });
      expect((await page.request.get('/api/v1/session')).status()).toBe(401);
    });
  }, 60_000);

  it('require SSO: a responder’s sign-in link is refused with a page, an owner’s link still works', async () => {
    let responderLink = '';
    await inPage(stack, 'sso-require', async (page) => {
      await page.goto(ownerLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings/sso');
      await page.getByLabel('Require single sign-on for everyone but owners').check();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      const api = await apiAs(page);
      const rui = await api('POST', '/api/v1/users', { name: 'Rui Responder', email: 'rui@example.com', role: 'responder' });
      responderLink = (await api('POST', `/api/v1/users/${rui.user.id}/login_link`)).url;
      const me = (await api('GET', '/api/v1/session')).user;
      ownerLink = (await api('POST', `/api/v1/users/${me.id}/login_link`)).url;
    });
    await inPage(stack, 'sso-require-refused', async (page) => {
      await page.goto(responderLink);
      await page.getByRole('heading', { name: 'Sign in with single sign-on' }).waitFor();
      expect(await page.locator('.card').innerText()).toContain('sign in with Test IdP');
      await page.screenshot({ path: '/tmp/fb-sso-require.png', fullPage: true });
      expect((await page.request.get('/api/v1/session')).status()).toBe(401);
    });
    await inPage(stack, 'sso-require-owner', async (page) => {
      await page.goto(ownerLink);
      await page.waitForURL((u) => u.pathname === '/');
      expect((await (await page.request.get('/api/v1/session')).json()).user.role).toBe('owner');
    });
  }, 60_000);

  it('a provider that is down ends on a clear page', async () => {
    await idp.stop();
    await inPage(stack, 'sso-down', async (page) => {
      await page.goto('/signin');
      await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
      await page.getByRole('heading', { name: 'Test IdP cannot be reached' }).waitFor();
      await page.screenshot({ path: '/tmp/fb-sso-down.png', fullPage: true });
    });
  }, 60_000);
});
