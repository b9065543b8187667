// Workflows in the web app, in Chromium, with PagerDuty connected (the emulator) and a catalog field "Affected
// services" over PagerDuty services. An admin builds a workflow in the editor — trigger "An incident is declared",
// condition "Affected services is set", a step paging `each affected service's escalation policy` — sees a
// mistyped expression refused at the step as they type, previews it against a real incident (the policy by name,
// nothing paged), saves it, activates it for new incidents only, declares an incident that matches, and sees the
// run succeed on the incident page with the PagerDuty incident it made (checked in the emulator: one incident on
// that policy, sent as the bot account), and on an incident without services, why it did not run. The History and Audit tabs show the run and who did what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { apiAs, inPage, startBrowserStack, type BrowserStack } from './stack.js';

const EXPRESSION = 'incident.custom_fields.affected_services.map(s, s.escalation_policy)';

describe.skipIf(process.env.FIREBREAK_TEST_BROWSER !== '1')('Workflows in the web app (Chromium)', () => {
  let stack: BrowserStack;
  let pd: PagerDutyEmulator;

  beforeAll(async () => {
    pd = await startCheckedPagerDuty({ seed: 'small', rateLimitPerMinute: false });
    stack = await startBrowserStack();
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await pd?.stop();
  });

  it('builds, previews and activates a workflow, and shows the run and its PagerDuty incident on the incident page', async () => {
    await inPage(
      stack,
      'workflows',
      async (page) => {
        await page.goto(stack.fb.initialLoginUrl!);
        await page.waitForURL((u) => u.pathname === '/');
        const api = await apiAs(page);
        const bot = [...pd.state.users.values()][0]!;
        const connected = await api('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id });
        for (let i = 0; ; i++) {
          const run = (await api('GET', `/api/v1/catalog_sync_runs/${connected.last_run.id}`)).sync_run;
          if (!['queued', 'running'].includes(run.status)) break;
          if (i > 300) throw new Error('the PagerDuty sync did not finish');
          await page.waitForTimeout(100);
        }
        await api('POST', '/api/v1/custom_fields', { key: 'affected_services', name: 'Affected services', type: 'catalog', catalog_type: 'PagerDutyService', multiple: true });
        const services = (await api('GET', '/api/v1/catalog_entries?type_id=PagerDutyService&limit=250')).catalog_entries as { id: string; name: string; external_id: string }[];
        const service = services.find((s) => pd.state.services.get(s.external_id)?.escalation_policy_id)!;
        const policy = pd.state.escalationPolicies.get(pd.state.services.get(service.external_id)!.escalation_policy_id)!;
        // An incident to preview against (declared before the workflow exists, so nothing runs for it).
        const earlier = (await api('POST', '/api/v1/incidents', { name: 'Checkout slow for some users', custom_field_values: { affected_services: [service.id] } })).incident;

        // The list, empty; then a new workflow.
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows' }).click();
        await page.getByRole('heading', { name: 'Workflows', level: 1 }).waitFor();
        await page.getByText('No workflows yet.').waitFor();
        await page.getByRole('link', { name: 'New workflow' }).click();
        await page.getByRole('heading', { name: 'New workflow', level: 1 }).waitFor();
        const editor = page.getByRole('form', { name: 'Workflow' });
        await editor.getByLabel('Name', { exact: true }).fill('Page affected services');
        expect(await editor.getByLabel('Key', { exact: true }).inputValue()).toBe('page-affected-services');
        expect(await editor.getByLabel('When', { exact: true }).inputValue()).toBe('incident.declared');

        // Condition: Affected services is set.
        await editor.getByRole('button', { name: 'Add a condition' }).click();
        const condition = editor.getByRole('group', { name: 'Condition 1.1' });
        await condition.getByLabel('Subject').selectOption({ label: 'Affected services' });
        await condition.getByLabel('Operator').selectOption({ label: 'is set' });

        // The step: a typo in the expression is refused at the step as it is typed, then fixed.
        const step = editor.getByRole('listitem', { name: 'Step 1: Page in PagerDuty' });
        const policies = step.getByLabel('Escalation policies from an expression (optional)');
        await policies.fill(EXPRESSION.replace('escalation_policy', 'escalation_polcy'));
        const stepError = step.locator('.field-invalid .field-error').first();
        await stepError.waitFor();
        expect(await stepError.innerText()).toContain('escalation_polcy');
        await page.screenshot({ path: '/tmp/wf-editor-error.png', fullPage: true });
        await policies.fill(EXPRESSION);
        await page.getByTestId('workflow-check').getByText('The workflow checks.').waitFor();
        expect(await step.locator('.field-invalid').count()).toBe(0);

        // Preview against the earlier incident: it would page the service's policy, by name; nothing is sent.
        const preview = page.getByRole('region', { name: 'Preview' });
        await preview.getByLabel('Incident').selectOption(earlier.reference);
        await preview.getByRole('button', { name: 'Preview' }).click();
        const shown = page.getByTestId('workflow-preview');
        await shown.getByText(`It would run on ${earlier.reference}`).waitFor();
        const row = shown.getByTestId('condition-result');
        expect(await row.count()).toBe(1);
        expect(await row.innerText()).toContain('Affected services is set');
        expect(await row.innerText()).toContain(service.name);
        expect(await row.innerText()).toContain('Holds');
        const would = shown.getByTestId('preview-step');
        expect(await would.count()).toBe(1);
        expect(await would.innerText()).toContain(policy.name);
        await page.screenshot({ path: '/tmp/wf-editor-preview.png', fullPage: true });
        expect(pd.state.incidents.size).toBe(0);

        // Save as a draft, then activate for new incidents only.
        await editor.getByRole('button', { name: 'Save as draft' }).click();
        await page.waitForURL((u) => /^\/workflows\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith('/new'));
        await page.getByRole('heading', { name: 'Page affected services', level: 1 }).waitFor();
        await page.getByText('Draft', { exact: true }).first().waitFor();
        await editor.getByRole('button', { name: 'Activate', exact: true }).click();
        const ask = page.getByRole('group', { name: 'Activate' });
        await ask.getByText('Apply to open incidents too?').waitFor();
        await ask.getByRole('button', { name: 'New incidents only' }).click();
        await page.getByText('Active for new incidents.').waitFor();
        const workflowUrl = new URL(page.url()).pathname;
        const stored = (await api('GET', `/api/v1/${workflowUrl.slice(1)}`)) as { state: string; conditions: unknown; steps: unknown[] };
        expect(stored.state).toBe('active');
        expect(stored.conditions).toEqual([{ all: [{ subject: 'incident.custom_fields.affected_services', operator: 'is_set' }] }]);
        expect(stored.steps).toMatchObject([{ type: 'escalate', policies_expression: EXPRESSION }]);

        // The list shows it active, with its trigger in words.
        await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Workflows' }).click();
        const listed = page.locator('tr[data-workflow="page-affected-services"]');
        await listed.waitFor();
        expect(await listed.innerText()).toContain('Active');
        expect(await listed.innerText()).toContain('When an incident is declared');
        await page.screenshot({ path: '/tmp/wf-list.png', fullPage: true });
        // Activating for new incidents did not run it on the earlier one.
        expect(pd.state.incidents.size).toBe(0);

        // An incident that matches: the run succeeds and pages the policy once, as the bot account.
        const declared = (await api('POST', '/api/v1/incidents', { name: 'Checkout returns 500s', custom_field_values: { affected_services: [service.id] } })).incident;
        await page.goto(`/incidents/${declared.reference}`);
        const card = page.getByRole('region', { name: 'Workflows' });
        const run = card.getByTestId('workflow-run');
        await run.getByRole('link', { name: 'Page affected services' }).waitFor({ timeout: 20_000 });
        await expect.poll(async () => run.getAttribute('data-status'), { timeout: 20_000 }).toBe('succeeded');
        await expect.poll(() => pd.state.incidents.size, { timeout: 20_000 }).toBe(1);
        const paged = [...pd.state.incidents.values()][0]!;
        expect(paged.escalation_policy_id).toBe(policy.id);
        const posts = pd.requestLog().filter((r) => r.method === 'POST' && r.path === '/incidents');
        expect(posts.map((r) => String(r.headers.from ?? '').trim().toLowerCase())).toEqual([bot.email.trim().toLowerCase()]);
        // The run names the PagerDuty incident it made (on the policy), and the Escalations card shows the page.
        const made = run.getByTestId('run-pagerduty');
        await made.waitFor();
        expect(await made.innerText()).toContain(paged.id);
        expect(await made.innerText()).toContain(policy.name);
        await run.getByRole('button', { name: 'Details' }).click();
        await run.getByTestId('step-record').getByText(policy.name).first().waitFor();
        await page.getByRole('region', { name: 'Escalations' }).getByText(policy.name).first().waitFor({ timeout: 20_000 });
        await page.screenshot({ path: '/tmp/wf-incident.png', fullPage: true });
        // The earlier incident has no run.
        const earlierRuns = (await api('GET', `/api/v1/incidents/${earlier.id}/workflow_runs`)) as { runs: unknown[] };
        expect(earlierRuns.runs).toEqual([]);

        // An incident without affected services: the card says why the workflow did not run on it.
        const other = (await api('POST', '/api/v1/incidents', { name: 'Search results stale' })).incident;
        await page.goto(`/incidents/${other.reference}`);
        const skipped = page.getByRole('region', { name: 'Workflows' }).getByTestId('workflow-skipped');
        await skipped.waitFor({ timeout: 20_000 });
        await skipped.locator('summary').click();
        const why = await skipped.innerText();
        expect(why).toContain('Page affected services');
        expect(why).toContain('Affected services is set');
        expect(await page.getByRole('region', { name: 'Workflows' }).getByTestId('workflow-run').count()).toBe(0);
        await page.screenshot({ path: '/tmp/wf-incident-skipped.png', fullPage: true });

        // History and audit.
        await page.goto(`${workflowUrl}?tab=history`);
        const history = page.getByRole('list', { name: 'Runs' }).getByTestId('workflow-run');
        await history.first().waitFor();
        expect(await history.count()).toBe(1);
        expect(await history.innerText()).toContain(declared.reference);
        await history.getByRole('button', { name: 'Details' }).click();
        await history.getByTestId('step-record').first().waitFor();
        await page.screenshot({ path: '/tmp/wf-history.png', fullPage: true });
        await page.goto(`${workflowUrl}?tab=audit`);
        const audit = page.getByTestId('audit-entry');
        await audit.first().waitFor();
        const lines = await audit.allInnerTexts();
        expect(lines.some((l) => l.includes('Created'))).toBe(true);
        expect(lines.some((l) => l.includes('Made it active'))).toBe(true);
        await page.screenshot({ path: '/tmp/wf-audit.png', fullPage: true });
      },
      { height: 1000, timeoutMs: 20_000 },
    );
  }, 180_000);
});
