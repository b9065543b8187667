// The Expressions page in Chromium: the box is checked as you type (the mistake with a caret under it and what
// exists there, then the type once fixed), and Preview shows the value by name and the path it took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from '../browser/stack.js';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Expressions page in Chromium', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack();
  }, 60_000);
  afterAll(async () => stack?.close());

  it('checks as you type and previews against an incident', async () => {
    await inPage(stack, 'expressions', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      const team = (await api('POST', '/api/v1/catalog_types', { type_name: 'Squad', name: 'Squad', attributes: [{ name: 'Slack channel', type: 'string' }] })).catalog_type;
      const product = (await api('POST', '/api/v1/catalog_types', { type_name: 'Product', name: 'Product', attributes: [{ name: 'Owner', type: 'reference', reference_type: 'Squad' }] })).catalog_type;
      const ownerAttr = product.attributes.find((a: { name: string }) => a.name === 'Owner').id;
      const squad = (await api('POST', '/api/v1/catalog_entries', { catalog_type_id: team.id, name: 'Payments Squad' })).catalog_entry;
      const shop = (await api('POST', '/api/v1/catalog_entries', { catalog_type_id: product.id, name: 'Web Shop', attribute_values: { [ownerAttr]: squad.id } })).catalog_entry;
      await api('POST', '/api/v1/custom_fields', { key: 'product', name: 'Product', type: 'catalog', catalog_type: 'Product' });
      await api('POST', '/api/v1/incidents', { name: 'Basket is empty', custom_field_values: { product: shop.id } });

      await page.goto('/settings/expressions');
      await page.getByRole('heading', { name: 'Expressions', level: 1 }).waitFor();
      const box = page.getByLabel('Expression');
      await box.fill('incident.custom_fields.product.ownr.name');
      const error = page.getByTestId('expression-error');
      await error.waitFor();
      expect(await error.innerText()).toContain('has no field "ownr"');
      expect(await page.getByTestId('expression-available').innerText()).toContain('owner: Squad');
      // The caret sits under the mistake.
      const pre = await error.locator('pre').innerText();
      const [line, caret] = pre.split('\n');
      expect(line).toBe('incident.custom_fields.product.ownr.name');
      expect(caret!.indexOf('^')).toBe(line!.indexOf('ownr'));
      await page.screenshot({ path: '/tmp/fb-expressions-error.png', fullPage: true });

      await box.fill('incident.custom_fields.product.owner.name');
      await page.getByTestId('expression-type').waitFor();
      expect(await page.getByTestId('expression-type').innerText()).toBe('string');
      await page.getByRole('button', { name: 'Preview' }).click();
      await page.getByTestId('expression-preview').waitFor();
      expect(await page.getByTestId('expression-value').innerText()).toBe('"Payments Squad"');
      const path = await page.getByTestId('expression-visited').innerText();
      expect(path).toContain('Web Shop (Product) via incident.custom_fields.product');
      expect(path).toContain('Payments Squad (Squad) via incident.custom_fields.product → Web Shop.owner');
      await page.screenshot({ path: '/tmp/fb-expressions-preview.png', fullPage: true });
    });
  }, 90_000);
});
