// The post-incident write-up in a real browser: after closing an incident, the owner opens its write-up from the
// post-incident card, generates it from the template, edits the Markdown and watches the preview follow (people's
// HTML stays text), saves, sees a colleague's save arrive live, has a stale save refused with the colleague's
// name, downloads both exports, and ticks the checklist to "Post-incident complete". Then the template editor
// shows a mistake with its line and column while typing. Screenshots land in /tmp/fb-write-up-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInWithLink, type Client } from '../helpers.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('post-incident write-up in Chromium', () => {
  let stack: BrowserStack;
  let ownerLink = '';

  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  it('generates, edits with a live preview, saves, is told of a newer save, exports, and completes the checklist', async () => {
    const loginUrl = stack.fb.initialLoginUrl!;
    await inPage(
      stack,
      'write-up',
      async (page) => {
        await page.goto(loginUrl);
        await page.waitForURL((u) => u.pathname === '/');
        const api = await apiAs(page);
        const me = (await api('GET', '/api/v1/session')).user;
        ownerLink = (await api('POST', `/api/v1/users/${me.id}/login_link`)).url;
        const inc = (await api('POST', '/api/v1/incidents', { name: 'Checkout errors after deploy', summary: 'Card payments failed for 35 minutes.' })).incident;
        await api('POST', `/api/v1/incidents/${inc.id}/actions/close`, {});
        const rae = (await api('POST', '/api/v1/users', { name: 'Rae Responder', email: 'rae@example.com', role: 'responder' })).user;
        const rae$: Client = await signInWithLink(stack.fb.baseUrl, (await api('POST', `/api/v1/users/${rae.id}/login_link`)).url);

        // The closed incident shows the checklist; the write-up is one click away.
        await page.goto(`/incidents/${inc.reference}`);
        const card = page.getByTestId('post-incident-card');
        await card.getByTestId('post-incident-state').filter({ hasText: '0 of 3 done' }).waitFor();
        await card.getByRole('link', { name: 'Write the write-up' }).click();
        await page.waitForURL((u) => u.pathname === `/incidents/${inc.reference}/write-up`);
        await page.getByRole('button', { name: 'Generate from the template' }).click();

        const preview = page.getByTestId('write-up-preview');
        await preview.getByRole('heading', { name: `${inc.reference}: Checkout errors after deploy`, level: 1 }).waitFor();
        const editor = page.getByLabel('Markdown');
        expect(await editor.inputValue()).toContain('Card payments failed for 35 minutes.');

        // Typing updates the preview as it goes; HTML people type shows as text.
        await editor.press('Control+End');
        await editor.pressSequentially('\n\n## Root cause\n\nA **bad** config push <img src=x onerror=alert(1)>', { delay: 2 });
        await preview.getByRole('heading', { name: 'Root cause', level: 2 }).waitFor();
        expect(await preview.locator('strong', { hasText: 'bad' }).count()).toBe(1);
        expect(await preview.locator('img').count()).toBe(0);
        expect(await preview.innerText()).toContain('<img src=x onerror=alert(1)>');
        await page.getByText('Unsaved changes').waitFor();
        await page.screenshot({ path: '/tmp/fb-write-up-editor.png', fullPage: true });

        await page.getByRole('button', { name: 'Save', exact: true }).click();
        await page.getByTestId('write-up-status').filter({ hasText: 'Version 2, last saved by Owner' }).waitFor();
        expect(await page.getByText('Unsaved changes').count()).toBe(0);

        // Rae saves from elsewhere: with nothing unsaved here, the page takes her version by itself (live feed).
        const v2 = (await rae$.get(`/api/v1/incidents/${inc.id}/write_up`)).body.write_up;
        expect((await rae$.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: `${v2.markdown}\n\nRae: timeline checked.`, version: v2.version })).status).toBe(200);
        await page.getByTestId('write-up-status').filter({ hasText: 'Version 3, last saved by Rae Responder' }).waitFor();
        await preview.getByText('Rae: timeline checked.').waitFor();

        // Now both edit: Rae saves first; this page is told, keeps its text, and its save is refused naming her.
        await editor.press('Control+End');
        await editor.pressSequentially('\n\nOwner: lessons drafted.', { delay: 2 });
        expect((await rae$.patch(`/api/v1/incidents/${inc.id}/write_up`, { markdown: `${v2.markdown}\n\nRae: second pass.`, version: 3 })).status).toBe(200);
        await page.getByTestId('write-up-newer').filter({ hasText: 'Rae Responder saved a newer version (version 4)' }).waitFor();
        expect(await editor.inputValue()).toContain('Owner: lessons drafted.');
        await page.getByRole('button', { name: 'Save', exact: true }).click();
        const stale = page.getByTestId('write-up-stale');
        await stale.filter({ hasText: 'Rae Responder saved a newer version of this write-up (version 4' }).waitFor();
        await page.screenshot({ path: '/tmp/fb-write-up-stale.png', fullPage: true });
        await stale.getByRole('button', { name: 'Load the newer version (discard mine)' }).click();
        await preview.getByText('Rae: second pass.').waitFor();
        expect(await editor.inputValue()).not.toContain('Owner: lessons drafted.');

        // Exports download files named by the reference.
        const [md] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-md').click()]);
        expect(md.suggestedFilename()).toBe(`${inc.reference}-write-up.md`);
        const [html] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-html').click()]);
        expect(html.suggestedFilename()).toBe(`${inc.reference}-write-up.html`);

        // Back on the incident: the write-up counts as written; the review and "no follow-ups needed" complete it.
        await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: inc.reference }).click();
        await page.getByTestId('post-incident-write_up').filter({ hasText: 'Edited, last saved by Rae Responder' }).waitFor();
        await card.getByRole('button', { name: 'Mark review held' }).click();
        await card.getByLabel(/Note \(when, who attended\)/).fill('Tuesday, with payments');
        await card.getByRole('button', { name: 'Mark review held' }).click();
        await card.getByTestId('post-incident-review').filter({ hasText: 'Ticked by Owner' }).waitFor();
        await card.getByRole('button', { name: 'No follow-ups needed' }).click();
        await card.getByRole('button', { name: 'No follow-ups needed' }).click();
        await card.getByTestId('post-incident-state').filter({ hasText: 'Post-incident complete' }).waitFor();
        const timeline = page.getByRole('list', { name: 'Timeline' });
        await timeline.getByText('Post-incident complete: write-up written, review held, follow-ups created').waitFor();
        await page.screenshot({ path: '/tmp/fb-write-up-checklist.png', fullPage: true });
      },
      { timeoutMs: 15_000 },
    );
  }, 90_000);

  it('the template editor previews against an incident and points at a mistake by line and column', async () => {
    await inPage(stack, 'write-up-template', async (page) => {
      // A fresh profile: the owner signs in with the link made in the test above.
      await page.goto(ownerLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings/write-up-template');
      const editor = page.getByLabel('Template');
      await page.getByTestId('template-preview').getByRole('heading', { level: 1 }).waitFor();
      await editor.fill('# {{incident.reference}}\n\n{{#roles}}\n- {{name}}\n');
      await page.getByTestId('template-error').filter({ hasText: 'Unclosed section "roles" at line 3, column 1' }).waitFor();
      await editor.fill('# Review of {{incident.reference}}\n\nLead: {{incident.led}}');
      await page.getByTestId('template-error').filter({ hasText: 'unknown variable: {{incident.led}}' }).waitFor();
      await editor.fill('# Review of {{incident.reference}}\n\nLead: {{incident.lead}}');
      await page.getByTestId('template-preview').getByText('Lead: Owner').waitFor();
      await page.screenshot({ path: '/tmp/fb-write-up-template.png', fullPage: true });
      await page.getByRole('button', { name: 'Save template' }).click();
      await page.getByTestId('template-state').filter({ hasText: 'Saved by Owner' }).waitFor();
    });
  }, 60_000);
});
