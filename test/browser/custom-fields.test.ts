// Custom fields in the web app, in Chromium: an admin defines a text field (required before closing), a single
// select (required at declaration, default EU) and "Affected services", a catalog field over a custom catalog type made through
// the API, with a default entry chosen in the same picker; declares an incident in the web form, removing the
// default and picking two services by typing; reads them by name on the incident
// page; is refused closing until the required field is set, and setting it writes a timeline item; finds the
// incident with the list's field filter (and not another); sees an archived service marked archived; and is asked,
// with the number of incidents, before deleting a field in use. A viewer sees the fields and values but cannot change them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

type Api = Awaited<ReturnType<typeof apiAs>>;
interface Entry {
  id: string;
  name: string;
}
/** The custom type's entries by name, made in beforeAll. */
const entries: Record<string, Entry> = {};

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('custom fields in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let adminLink = '';
  let viewerLink = '';
  let typeId = '';
  /** The incident the first test declares in the web form. */
  let declaredRef = '';

  beforeAll(async () => {
    stack = await startBrowserStack();
    await inPage(stack, 'custom-fields-setup', async (page) => {
      await page.goto(stack.fb.initialLoginUrl!);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);
      const admin = await api('POST', '/api/v1/users', { name: 'Ada Admin', email: 'ada@example.com', role: 'admin' });
      const viewer = await api('POST', '/api/v1/users', { name: 'Vic Viewer', email: 'vic@example.com', role: 'viewer' });
      adminLink = (await api('POST', `/api/v1/users/${admin.user.id}/login_link`)).url;
      viewerLink = (await api('POST', `/api/v1/users/${viewer.user.id}/login_link`)).url;
      // A custom catalog type and its entries, made through the API (the catalog's own pages are tested elsewhere).
      typeId = (await api('POST', '/api/v1/catalog_types', { type_name: 'ProductService', name: 'Product services', attributes: [] })).catalog_type.id;
      for (const name of ['Payments API', 'Checkout web', 'Search', 'Payroll export']) {
        entries[name] = (await api('POST', '/api/v1/catalog_entries', { catalog_type_id: typeId, name })).catalog_entry;
      }
    });
  }, 90_000);
  afterAll(async () => stack?.close());

  it('defines fields, declares with two services picked by typing, edits, filters, shows archived entries and confirms a delete', async () => {
    await inPage(stack, 'custom-fields', async (page) => {
      await page.goto(adminLink);
      await page.waitForURL((u) => u.pathname === '/');
      const api = await apiAs(page);

      await defineFields(page);
      const fields = (await api('GET', '/api/v1/custom_fields')).custom_fields as Array<{ key: string; type: string; id: string; catalog_type: { id: string } | null; multiple: boolean; options: { id: string; label: string }[]; required_at_declaration: boolean; required_before_close: boolean }>;
      const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
      expect(Object.keys(byKey).sort()).toEqual(['affected_services', 'customer_impact', 'region']);
      expect(byKey.customer_impact).toMatchObject({ type: 'text', required_before_close: true, required_at_declaration: false });
      expect(byKey.region).toMatchObject({ type: 'single_select', required_at_declaration: true });
      expect(byKey.region!.options.map((o) => o.label)).toEqual(['EU', 'US']);
      expect(byKey.affected_services).toMatchObject({ type: 'catalog', multiple: true, catalog_type: { id: typeId } });

      const reference = await declareInTheForm(page);
      declaredRef = reference;
      const declared = (await api('GET', `/api/v1/incidents/${reference}`)).incident;
      const stored = declared.custom_fields.find((v: { field: { key: string } }) => v.field.key === 'affected_services');
      expect([...stored.value].sort()).toEqual([entries['Payments API']!.id, entries['Checkout web']!.id].sort());

      await incidentPage(page);

      // Another incident, in the US, affecting Search only: the filter must leave it out.
      const other = (await api('POST', '/api/v1/incidents', { name: 'Search results stale', custom_field_values: { region: 'US', affected_services: [entries.Search!.id] } })).incident;
      await listFilter(page, reference, other.reference);

      // Archiving an entry keeps it on the incident, marked archived.
      await api('POST', `/api/v1/catalog_entries/${entries['Checkout web']!.id}/actions/archive`);
      await page.goto(`/incidents/${reference}`);
      const card = page.getByRole('region', { name: 'Custom fields' });
      const entry = (name: string) => card.locator('[data-field="affected_services"] .cf-value li').filter({ has: page.getByRole('link', { name }) });
      await entry('Checkout web').getByText('archived', { exact: true }).waitFor();
      expect(await entry('Payments API').getByText('archived').count()).toBe(0);
      await page.screenshot({ path: '/tmp/fieldsweb-incident-archived.png', fullPage: true });

      await deleteInUse(page, api, reference);
    }, { timeoutMs: 15_000 });
  }, 180_000);

  // After the first test, which defined the fields.
  it('shows a viewer the fields read-only', async () => {
    await inPage(stack, 'custom-fields-viewer', async (page) => {
      await page.goto(viewerLink);
      await page.waitForURL((u) => u.pathname === '/');
      await page.goto('/settings/custom-fields');
      await page.getByText('Only owners and admins can change custom fields.').waitFor();
      await page.getByRole('list', { name: 'Custom fields' }).getByText('Region', { exact: true }).waitFor();
      expect(await page.getByRole('button', { name: /^(Edit|Delete) / }).count()).toBe(0);
      expect(await page.getByRole('form', { name: 'Add a custom field' }).count()).toBe(0);

      // On an incident they read the values, with nothing to change them.
      await page.goto(`/incidents/${declaredRef}`);
      const card = page.getByRole('region', { name: 'Custom fields' });
      await card.getByText('EU card payments fail at checkout').waitFor();
      expect(await card.getByRole('button').count()).toBe(0);
    });
  }, 60_000);
});

/** Settings → Custom fields: three fields through the form, each checked in the list as it is added. */
async function defineFields(page: Page): Promise<void> {
  await page.goto('/settings');
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Custom fields' }).click();
  await page.getByRole('heading', { name: 'Custom fields', level: 1 }).waitFor();
  await page.getByText('No custom fields yet.').waitFor();
  const form = page.getByRole('form', { name: 'Add a custom field' });
  const list = page.getByRole('list', { name: 'Custom fields' });

  // A text field, required before closing, not in the declare form. The key follows the name.
  await form.getByLabel('Name', { exact: true }).fill('Customer impact');
  expect(await form.getByLabel('Key', { exact: true }).inputValue()).toBe('customer_impact');
  await form.getByLabel('Description (optional)').fill('Who is affected, and how.');
  await form.getByLabel('Type', { exact: true }).selectOption({ label: 'Text' });
  await form.getByLabel('Show in the declare form').uncheck();
  await form.getByLabel('Required before closing').check();
  await form.getByRole('button', { name: 'Add field' }).click();
  const impact = list.locator('[data-field="customer_impact"]');
  await impact.waitFor();
  expect(await impact.innerText()).toContain('Required before closing');

  // A single select with two options, required at declaration.
  await form.getByLabel('Name', { exact: true }).fill('Region');
  await form.getByLabel('Type', { exact: true }).selectOption({ label: 'Single select' });
  await form.getByRole('textbox', { name: 'Option 1' }).fill('EU');
  await form.getByRole('textbox', { name: 'Option 2' }).fill('US');
  await form.getByLabel('Required at declaration').check();
  // A default naming an option that is not saved yet.
  await form.getByLabel('Default value (optional)').selectOption({ label: 'EU' });
  await form.screenshot({ path: '/tmp/fieldsweb-settings-options.png' });
  await form.getByRole('button', { name: 'Add field' }).click();
  const region = list.locator('[data-field="region"]');
  await region.waitFor();
  expect(await region.innerText()).toContain('Options: EU, US');
  expect(await region.innerText()).toContain('Default: EU');

  // A catalog field over the custom type, chosen by its name, several entries.
  await form.getByLabel('Name', { exact: true }).fill('Affected services');
  await form.getByLabel('Type', { exact: true }).selectOption({ label: 'Catalog' });
  await form.getByLabel('Catalog type').selectOption({ label: 'Product services' });
  await form.getByLabel('Several entries').check();
  // Its default, chosen with the same picker: Search.
  await form.getByRole('combobox', { name: 'Default value (optional)' }).fill('sea');
  await page.getByRole('listbox', { name: 'Catalog entries' }).getByRole('option', { name: 'Search' }).click();
  await form.getByRole('list', { name: 'Chosen entries' }).getByText('Search').waitFor();
  await form.getByRole('button', { name: 'Add field' }).click();
  const services = list.locator('[data-field="affected_services"]');
  await services.waitFor();
  expect(await services.innerText()).toContain('of Product services, several entries');
  // The form starts afresh after each field: this one is neither required nor the previous one's type.
  expect(await services.innerText()).not.toContain('Required');
  await services.getByText('Default: Search').waitFor();

  // The key is fixed once the field exists: editing shows it, not as an input.
  await page.getByRole('button', { name: 'Edit Affected services' }).click();
  const edit = page.getByRole('form', { name: 'Edit Affected services' });
  expect(await edit.getByLabel('Key', { exact: true }).innerText()).toBe('affected_services');
  expect(await edit.locator('input[pattern]').count()).toBe(0);
  await page.screenshot({ path: '/tmp/fieldsweb-settings.png', fullPage: true });
  await edit.getByRole('button', { name: 'Cancel' }).click();
}

/** The declare form: the required select refused while empty (message under it), two services picked by typing. */
async function declareInTheForm(page: Page): Promise<string> {
  await page.getByRole('link', { name: 'Declare incident' }).first().click();
  await page.waitForURL((u) => u.pathname === '/declare');
  await page.getByLabel('Name', { exact: true }).fill('Card payments failing in EU');
  const severity = page.getByLabel('Severity');
  await severity.locator('option:not([disabled])').first().waitFor({ state: 'attached' });
  await severity.selectOption((await severity.locator('option:not([disabled])').first().getAttribute('value')) ?? '');
  // Only fields shown in the declare form (or required at declaration) are there.
  await page.getByLabel('Affected services').waitFor();
  expect(await page.getByLabel('Customer impact').count()).toBe(0);

  // The default comes filled in, by name; this incident does not affect Search, so it goes.
  const chosen = page.getByRole('list', { name: 'Chosen entries' });
  await chosen.getByText('Search').waitFor();
  await chosen.getByRole('button', { name: 'Remove Search' }).click();
  expect(await chosen.count()).toBe(0);

  // Two services, each found by typing part of its name: one picked with the mouse, one with the keyboard.
  const picker = page.getByRole('combobox', { name: 'Affected services' });
  await picker.fill('pay');
  const listbox = page.getByRole('listbox', { name: 'Catalog entries' });
  await listbox.getByRole('option', { name: 'Payments API' }).waitFor();
  expect(await listbox.getByRole('option').allInnerTexts()).toEqual(['Payments API', 'Payroll export']);
  await listbox.getByRole('option', { name: 'Payments API' }).click();
  await picker.fill('checkout');
  await listbox.getByRole('option', { name: 'Checkout web' }).waitFor();
  await picker.press('Enter');
  await chosen.getByText('Checkout web').waitFor();
  expect(await chosen.getByRole('listitem').allInnerTexts()).toEqual([expect.stringContaining('Payments API'), expect.stringContaining('Checkout web')]);

  // Region comes with its default, EU. Emptied, it is sent as "no value" (not left out, which would apply the
  // default), and as it is required at declaration the server's message shows under it.
  const regionSelect = page.getByLabel('Region');
  expect(await regionSelect.locator('option:checked').innerText()).toBe('EU');
  await regionSelect.selectOption({ label: 'Not set' });
  await page.getByRole('button', { name: 'Declare incident' }).click();
  const regionField = page.locator('[data-field-key="region"]');
  await regionField.locator('.field-error').waitFor();
  expect(page.url()).toMatch(/\/declare$/);
  await page.screenshot({ path: '/tmp/fieldsweb-declare.png', fullPage: true });

  await regionSelect.selectOption({ label: 'EU' });
  await page.getByRole('button', { name: 'Declare incident' }).click();
  await page.waitForURL((u) => /^\/incidents\/INC-\d+$/.test(u.pathname));
  return new URL(page.url()).pathname.split('/').pop()!;
}

/** The incident page: values by name, entries linking to the catalog, "Not set", closing refused, an edit on the timeline. */
async function incidentPage(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Card payments failing in EU', level: 1 }).waitFor();
  const card = page.getByRole('region', { name: 'Custom fields' });
  const payments = card.getByRole('link', { name: 'Payments API' });
  await payments.waitFor();
  expect(await payments.getAttribute('href')).toBe(`/catalog/entries/${entries['Payments API']!.id}`);
  expect(await card.getByRole('link', { name: 'Checkout web' }).getAttribute('href')).toBe(`/catalog/entries/${entries['Checkout web']!.id}`);
  expect(await card.locator('[data-field="region"] .cf-value').innerText()).toBe('EU');
  expect(await card.locator('[data-field="customer_impact"] .cf-value').innerText()).toBe('Not set');
  await page.screenshot({ path: '/tmp/fieldsweb-incident.png', fullPage: true });

  // Closing is refused while "Customer impact" is empty, with the server's message.
  await page.getByRole('button', { name: 'Close incident' }).click();
  const refusal = page.getByRole('region', { name: 'Next steps' }).getByRole('alert');
  await refusal.waitFor();
  expect(await refusal.innerText()).toContain('Customer impact');

  // Setting it in place writes a timeline item, which the page shows.
  await card.getByRole('button', { name: 'Set Customer impact' }).click();
  await card.getByRole('textbox', { name: 'Customer impact' }).fill('EU card payments fail at checkout');
  await card.getByRole('button', { name: 'Save' }).click();
  await card.locator('[data-field="customer_impact"] .cf-value').getByText('EU card payments fail at checkout').waitFor();
  const changed = page.getByRole('list', { name: 'Timeline' }).locator('.timeline-custom_field_changed');
  await changed.first().waitFor();
  expect(await changed.first().innerText()).toContain('Customer impact');

  // Now it closes.
  await page.getByRole('button', { name: 'Close incident' }).click();
  await page.locator('.incident-head .badge-status').filter({ hasText: /^Closed$/ }).waitFor();
}

/** The list: pick the field, then a service by typing; the URL carries the filter; only the right incident shows. */
async function listFilter(page: Page, reference: string, otherReference: string): Promise<void> {
  await page.goto('/');
  const table = page.locator('.incidents-table');
  await table.getByRole('link', { name: otherReference }).waitFor();
  await table.getByRole('link', { name: reference }).waitFor();

  await page.getByLabel('Custom field', { exact: true }).selectOption({ label: 'Affected services' });
  await page.getByRole('combobox', { name: 'Affected services is' }).fill('Payme');
  await page.getByRole('option', { name: 'Payments API' }).waitFor();
  await page.screenshot({ path: '/tmp/fieldsweb-list-picking.png' });
  await page.getByRole('option', { name: 'Payments API' }).click();
  await page.waitForURL((u) => u.searchParams.getAll('custom_field').includes(`affected_services:${entries['Payments API']!.id}`));
  await page.getByRole('list', { name: 'Custom field filters' }).getByText('Affected services: Payments API').waitFor();
  await table.getByRole('link', { name: reference }).waitFor();
  expect(await table.getByRole('link', { name: otherReference }).count()).toBe(0);
  await page.screenshot({ path: '/tmp/fieldsweb-list.png', fullPage: true });

  // The URL alone reproduces the view; a select filter by option finds the other one instead.
  await page.reload();
  await table.getByRole('link', { name: reference }).waitFor();
  expect(await table.getByRole('link', { name: otherReference }).count()).toBe(0);
  await page.getByRole('button', { name: 'Remove filter Affected services: Payments API' }).click();
  await page.getByLabel('Custom field', { exact: true }).selectOption({ label: 'Region' });
  await page.getByLabel('Region is', { exact: true }).selectOption({ label: 'US' });
  await table.getByRole('link', { name: otherReference }).waitFor();
  expect(await table.getByRole('link', { name: reference }).count()).toBe(0);
}

/** Deleting a field that incidents use asks first, with their number; then it is gone from settings and incidents. */
async function deleteInUse(page: Page, api: Api, reference: string): Promise<void> {
  await page.goto('/settings/custom-fields');
  const row = page.locator('[data-field="affected_services"]');
  await row.getByRole('button', { name: 'Delete Affected services…' }).click();
  const ask = row.getByRole('alertdialog', { name: 'Delete Affected services?' });
  await ask.waitFor();
  expect(await ask.innerText()).toContain('2 incidents use Affected services.');
  expect((await api('GET', '/api/v1/custom_fields')).custom_fields.map((f: { key: string }) => f.key)).toContain('affected_services');
  await page.screenshot({ path: '/tmp/fieldsweb-delete.png', fullPage: true });
  await ask.getByRole('button', { name: 'Delete from 2 incidents' }).click();
  await row.waitFor({ state: 'detached' });
  expect((await api('GET', '/api/v1/custom_fields')).custom_fields.map((f: { key: string }) => f.key)).not.toContain('affected_services');

  await page.goto(`/incidents/${reference}`);
  const card = page.getByRole('region', { name: 'Custom fields' });
  await card.getByText('Customer impact').waitFor();
  expect(await card.getByText('Affected services').count()).toBe(0);
}
