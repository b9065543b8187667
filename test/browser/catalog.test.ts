// In a real browser, with the PagerDuty catalog synced from the emulator: an admin creates a "Product" type in the
// web app (a text attribute, a list of PagerDuty Services, a derived "Escalation policies" picked hop by hop),
// adds an entry whose services are picked by searching, sees the references and the derived attribute by name,
// archives and restores it, then imports a YAML file: the preview shows the plan, Apply writes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('the catalog in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  });

  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('creates a type and an entry, shows derived values by name, and imports YAML with a preview', async () => {
    await inPage(
      stack,
      'catalog',
      async (page) => {
        await page.goto(stack.fb.initialLoginUrl!);
        const api = await apiAs(page);
        const bot = [...pd.state.users.values()][0]!;
        const connected = await api('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
        for (let i = 0; ; i++) {
          const run = (await api('GET', `/api/v1/catalog_sync_runs/${connected.last_run.id}`)).sync_run;
          if (!['queued', 'running'].includes(run.status)) break;
          if (i > 300) throw new Error('sync did not finish');
          await page.waitForTimeout(100);
        }
        const services = (await api('GET', '/api/v1/catalog_entries?type_id=PagerDutyService&limit=250')).catalog_entries;
        const service = services[0];
        const policyName = pd.state.escalationPolicies.get(pd.state.services.get(service.external_id)!.escalation_policy_id)!.name;

        // A new type with a reference list and a derived attribute.
        await page.getByRole('link', { name: 'Catalog', exact: true }).first().click();
        await page.getByRole('button', { name: 'New type' }).click();
        const form = page.getByRole('form', { name: 'New type' });
        await form.getByLabel('Name', { exact: true }).fill('Product');
        expect(await form.getByLabel('Type name').inputValue()).toBe('Product');
        await form.getByLabel('Description').fill('What customers buy');
        const row = (i: number) => form.locator(`[data-attribute-row="${i}"]`);
        await row(0).getByLabel('Attribute name').fill('Tier');
        await form.getByRole('button', { name: 'Add attribute' }).click();
        await row(1).getByLabel('Attribute name').fill('Services');
        await row(1).getByLabel('Kind').selectOption('reference');
        await row(1).getByLabel('Referenced type').selectOption({ label: 'PagerDuty Service' });
        await row(1).getByLabel('List (several values)').check();
        await form.getByRole('button', { name: 'Add attribute' }).click();
        await row(2).getByLabel('Attribute name').fill('Escalation policies');
        await row(2).getByLabel('Kind').selectOption('derived');
        await row(2).getByLabel('Path step 1').selectOption('services');
        await row(2).getByLabel('Path step 2').selectOption('escalation_policy');
        await page.screenshot({ path: '/tmp/fb-catalog-new-type.png', fullPage: true });
        await form.getByRole('button', { name: 'Create type' }).click();
        await page.getByRole('heading', { name: 'Product', level: 1 }).waitFor();
        expect(new URL(page.url()).pathname).toBe('/catalog/Product');

        // A new entry: its services picked by searching.
        await page.getByRole('button', { name: 'New entry' }).click();
        const entry = page.getByRole('form', { name: 'New Product entry' });
        await entry.getByLabel('Name', { exact: true }).fill('Checkout');
        await entry.getByLabel('External id').fill('checkout');
        await entry.getByLabel('Tier').fill('gold');
        await entry.getByLabel('Services').fill(service.name.slice(0, 6));
        await entry.getByRole('option', { name: service.name, exact: true }).click();
        await entry.locator('[data-picker="services"] .inline-list').getByText(service.name).waitFor();
        await entry.getByRole('button', { name: 'Create entry' }).click();
        await page.getByRole('heading', { name: 'Checkout', level: 1 }).waitFor();
        await page.locator('[data-attribute="services"]').getByRole('link', { name: service.name }).waitFor();
        await page.locator('[data-attribute="escalation_policies"]').getByRole('link', { name: policyName }).waitFor();
        expect(await page.locator('[data-attribute="tier"] dd').innerText()).toBe('gold');
        await page.screenshot({ path: '/tmp/fb-catalog-entry.png', fullPage: true });

        // Archive and restore.
        await page.getByRole('button', { name: 'Archive' }).click();
        await page.getByText(/^Archived/).waitFor();
        await page.getByRole('button', { name: 'Restore' }).click();
        await page.getByRole('button', { name: 'Archive' }).waitFor();

        // Edit the entry: its services are shown by name in the picker; change the tier.
        await page.getByRole('button', { name: 'Edit' }).click();
        const edit = page.getByRole('form', { name: 'Edit Checkout' });
        await edit.locator('[data-picker="services"] .inline-list').getByText(service.name).waitFor();
        await edit.getByLabel('Tier').fill('platinum');
        await page.screenshot({ path: '/tmp/fb-catalog-edit-entry.png', fullPage: true });
        await edit.getByRole('button', { name: 'Save entry' }).click();
        await page.locator('[data-attribute="tier"] dd', { hasText: 'platinum' }).waitFor();
        await page.locator('[data-attribute="services"]').getByRole('link', { name: service.name }).waitFor();

        // Rename an attribute of the type: the entry keeps its value (attribute ids are stable).
        await page.getByRole('link', { name: 'Product', exact: true }).click();
        await page.getByRole('button', { name: 'Edit type' }).click();
        const typeForm = page.getByRole('form', { name: 'Edit Product' });
        await typeForm.locator('[data-attribute-row="0"]').getByLabel('Attribute name').fill('Service tier');
        await typeForm.getByRole('button', { name: 'Save type' }).click();
        await typeForm.waitFor({ state: 'detached' });
        await page.getByRole('link', { name: 'Checkout' }).click();
        await page.locator('[data-attribute="tier"] dt', { hasText: 'Service tier' }).waitFor();
        expect(await page.locator('[data-attribute="tier"] dd').innerText()).toBe('platinum');

        // The PagerDuty service shows the product that references it.
        await page.locator('[data-attribute="services"]').getByRole('link', { name: service.name }).click();
        await page.locator('[data-backlink="Product:Services"]').getByRole('link', { name: 'Checkout' }).waitFor();

        // Export YAML, then import a file with one more entry: preview, then apply.
        await page.goto('/catalog/Product');
        const href = await page.getByRole('link', { name: 'Export YAML' }).getAttribute('href');
        const exported = await (await page.request.get(href!)).text();
        expect(exported).toContain('external_id: checkout');
        expect(exported).toContain('tier: platinum');
        expect(exported).toContain(`- ${service.external_id} # ${service.name}`);
        const imported = exported.replace(/^entries:\n/m, `entries:\n  - external_id: search\n    name: Search\n    attributes:\n      services: [${JSON.stringify(service.name)}]\n`);

        await page.getByRole('link', { name: 'Catalog', exact: true }).first().click();
        await page.getByRole('button', { name: 'Import' }).click();
        await page.getByLabel('Catalog file (YAML or JSON)').fill(imported);
        await page.getByRole('button', { name: 'Preview' }).click();
        const plan = page.locator('[data-plan]');
        await plan.locator('[data-plan-add="search"]').waitFor();
        expect(await plan.locator('[data-plan-counts]').innerText()).toBe('Entries: 1 to add, 0 to change, 0 to archive, 1 unchanged');
        expect(await plan.locator('h3').innerText()).toContain('type unchanged');
        await page.screenshot({ path: '/tmp/fb-catalog-import-preview.png', fullPage: true });
        expect((await api('GET', '/api/v1/catalog_entries?type_id=Product')).catalog_entries.map((e: any) => e.name)).toEqual(['Checkout']);
        await page.getByRole('button', { name: 'Apply' }).click();
        await page.getByText('Applied.').waitFor();
        expect((await api('GET', '/api/v1/catalog_entries?type_id=Product')).catalog_entries.map((e: any) => e.name)).toEqual(['Checkout', 'Search']);
        await page.getByRole('link', { name: 'Open Product' }).click();
        await page.getByRole('link', { name: 'Search', exact: true }).waitFor();

        // A broken file: the message says where.
        await page.goto('/catalog');
        await page.getByRole('button', { name: 'Import' }).click();
        await page.getByLabel('Catalog file (YAML or JSON)').fill('type:\n  type_name: Product\n  name: [Product\n');
        await page.getByRole('button', { name: 'Preview' }).click();
        await page.getByText(/not valid YAML: line \d+, column \d+/).waitFor();
        await page.screenshot({ path: '/tmp/fb-catalog-import-error.png', fullPage: true });
      },
      { timeoutMs: 20_000, height: 1000 },
    );
  }, 180_000);
});
