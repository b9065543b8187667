import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator, type SlackChannel, type SlackEmulator, type SlackUser } from '../../emulators/slack/index.js';
import type { PagerDutyEmulator } from '../../emulators/pagerduty/index.js';
import { startCheckedPagerDuty } from '../pagerduty-requests.js';
import { backends, ownerClient, startTestFirebreak, type Client, type TestFirebreak } from '../helpers.js';
import { ephemeralText, incidentChannel, person, waitFor, type SlackStack } from './stack.js';

// "A responder declares from Slack with Affected services picked from the PagerDuty catalog; the incident shows
// them by name in the API and its timeline; later they change the incident's fields from its channel."
// Slack through the emulator's driver (signed requests), PagerDuty through its emulator (synced catalog),
// custom fields defined through the REST API.

const SERVICE_TYPE = 'PagerDutyService';

for (const backend of backends) {
  describe(`custom fields in Slack (${backend})`, () => {
    let emu: SlackEmulator;
    let pd: PagerDutyEmulator;
    let fb: TestFirebreak;
    let owner: Client;
    let stack: SlackStack;
    let alice: SlackUser;
    let general: SlackChannel;
    let services: { id: string; name: string; external_id: string }[];
    let affected: any; // the "Affected services" field (catalog, multiple, shown in the declare form)
    let region: any; // single select with a default, shown in the declare form
    let postmortem: any; // link, not shown in the declare form
    let declared: any; // the incident declared from Slack with two services

    const syncPagerDuty = async (body: Record<string, unknown>, put = false) => {
      const bot = [...pd.state.users.values()][0]!;
      const r = put
        ? await owner.request('PUT', '/api/v1/integrations/pagerduty', { region: 'us', base_url: pd.baseUrl, api_key: pd.fullAccessKey, bot_user_id: bot.id })
        : await owner.post('/api/v1/integrations/pagerduty/sync', body);
      if (r.status !== 200 && r.status !== 202) throw new Error(`sync: ${r.status} ${JSON.stringify(r.body)}`);
      const runId = put ? r.body.last_run.id : r.body.run.id;
      await waitFor('the sync', async () => {
        const run = (await owner.get(`/api/v1/catalog_sync_runs/${runId}`)).body.sync_run;
        return run && !['queued', 'running'].includes(run.status) && run;
      }, 60_000);
    };
    const liveServices = async () => (await owner.get(`/api/v1/catalog_entries?catalog_type_id=${SERVICE_TYPE}&limit=250`)).body.catalog_entries as { id: string; name: string; external_id: string }[];
    const timeline = async (id: string) => (await owner.get(`/api/v1/incidents/${id}/timeline`)).body.items as any[];
    const openDeclare = async (user: SlackUser) => {
      const before = new Set(emu.openViews(user.id).map((v) => v.id));
      await emu.driver.slashCommand({ userId: user.id, channelId: general.id, command: '/incident', text: 'declare' });
      return waitFor('the declare modal', () => emu.openViews(user.id).find((v) => v.callbackId === 'firebreak_declare' && !before.has(v.id)));
    };
    const openFields = async (user: SlackUser, channelId: string, text = 'field') => {
      const before = new Set(emu.openViews(user.id).map((v) => v.id));
      await emu.driver.slashCommand({ userId: user.id, channelId, command: '/incident', text });
      return waitFor('the fields modal', () => emu.openViews(user.id).find((v) => v.callbackId === 'firebreak_fields' && !before.has(v.id)));
    };
    const block = (view: { blocks: any[] }, field: any) => view.blocks.find((b) => b.block_id === `cf:${field.id}`);

    beforeAll(async () => {
      emu = await startSlackEmulator();
      const announcements = emu.addChannel('incidents', { botIsMember: true });
      pd = await startCheckedPagerDuty({ port: 0, seed: 'small', rateLimitPerMinute: false });
      fb = await startTestFirebreak(backend, { slack: { botToken: emu.botToken, signingSecret: emu.signingSecret, apiUrl: emu.apiUrl, announcementsChannel: announcements.id } });
      emu.setAppUrl(`${fb.baseUrl}/slack/events`);
      owner = await ownerClient(fb);
      stack = { emu, fb, owner, announcements, stop: async () => {} };
      general = [...emu.state.channels.values()].find((c) => c.isGeneral)!;
      await syncPagerDuty({}, true);
      services = await liveServices();
      if (services.length < 3) throw new Error(`the small seed synced ${services.length} services`);

      const make = async (body: Record<string, unknown>) => {
        const r = await owner.post('/api/v1/custom_fields', body);
        if (r.status !== 201) throw new Error(`field: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.custom_field ?? r.body;
      };
      affected = await make({ key: 'affected_services', name: 'Affected services', description: 'Which services are hurt', type: 'catalog', catalog_type: SERVICE_TYPE, multiple: true, show_in_declare: true });
      region = await make({ key: 'region', name: 'Region', type: 'single_select', options: [{ label: 'EU' }, { label: 'US' }], default_value: 'EU', show_in_declare: true });
      postmortem = await make({ key: 'postmortem', name: 'Postmortem doc', type: 'link', show_in_declare: false });
      alice = person(emu, 'Alice Ops');
    }, 180_000);
    afterAll(async () => {
      await fb?.destroy();
      await pd?.stop();
      await emu?.stop();
    });

    it('the declare modal shows the fields for the declare form, by type, defaults prefilled', async () => {
      const view = await openDeclare(alice);
      expect(view.blocks.map((b: any) => b.block_id)).toEqual(['name', 'summary', 'severity', 'triage', `cf:${affected.id}`, `cf:${region.id}`]);
      const svc = block(view, affected);
      expect(svc.label.text).toBe('Affected services');
      expect(svc.hint.text).toBe('Which services are hurt');
      expect(svc.optional).toBe(true);
      expect(svc.element.type).toBe('multi_external_select');
      expect(svc.element.min_query_length).toBeLessThanOrEqual(1);
      const reg = block(view, region);
      expect(reg.element.type).toBe('static_select');
      expect(reg.element.options.map((o: any) => o.text.text)).toEqual(['EU', 'US']);
      expect(reg.element.initial_option.text.text).toBe('EU');
      await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    });

    it('the services picker searches the catalog by name, live entries only, names not ids', async () => {
      const view = await openDeclare(alice);
      const svc = block(view, affected);
      const target = services[1]!;
      const typed = target.name.slice(0, 5).toUpperCase();
      const r = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: svc.block_id, actionId: svc.element.action_id, value: typed });
      expect(r.status).toBe(200);
      const expected = services.filter((s) => s.name.toLowerCase().includes(typed.toLowerCase()));
      expect(r.body.options.map((o: any) => o.text.text).sort()).toEqual(expected.map((s) => s.name).sort());
      expect(r.body.options.map((o: any) => o.value)).toContain(target.id);

      // Opening the menu (nothing typed) lists them all, in name order.
      const all = await emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: svc.block_id, actionId: svc.element.action_id, value: '' });
      expect(all.body.options.map((o: any) => o.text.text)).toEqual(services.map((s) => s.name).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
      // Once PagerDuty deletes a service (archived by the sync), it is no longer offered.
      const gone = services[services.length - 1]!;
      const ask = (value: string) => emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: svc.block_id, actionId: svc.element.action_id, value });
      expect((await ask(gone.name.toLowerCase())).body.options.map((o: any) => o.value)).toContain(gone.id);
      pd.admin.deleteService(gone.external_id);
      await syncPagerDuty({ force: true });
      expect((await liveServices()).map((e) => e.id)).not.toContain(gone.id);
      const after = await ask(gone.name.toUpperCase());
      expect(after.status).toBe(200);
      expect(after.body.options.map((o: any) => o.value)).not.toContain(gone.id);
      services = await liveServices();
      await emu.driver.closeView({ userId: alice.id, viewId: view.id });
    }, 60_000);

    it('declares with two services picked: the API and the timeline show them by name', async () => {
      const view = await openDeclare(alice);
      const svc = block(view, affected);
      const [a, b] = [services[0]!, services[1]!];
      const submit = await emu.driver.submitView({
        userId: alice.id,
        viewId: view.id,
        values: { name: { value: 'Checkout errors' }, [svc.block_id]: { [svc.element.action_id]: [{ value: a.id, text: a.name }, { value: b.id, text: b.name }] } },
      });
      expect(submit.status).toBe(200);
      expect(submit.body?.response_action).toBeUndefined();
      declared = await waitFor('the incident', async () => ((await owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Checkout errors'));
      const inc = (await owner.get(`/api/v1/incidents/${declared.id}`)).body.incident;
      const byKey = Object.fromEntries(inc.custom_fields.map((v: any) => [v.field.key, v]));
      expect(byKey.affected_services.value).toEqual([a.id, b.id]);
      expect(byKey.affected_services.display.map((d: any) => d.label).sort()).toEqual([a.name, b.name].sort());
      expect(byKey.region.display.map((d: any) => d.label)).toEqual(['EU']); // the default, as prefilled
      expect(byKey.postmortem).toBeUndefined();
      const items = await timeline(declared.id);
      const declaredItem = items.find((i) => i.kind === 'incident_declared');
      const fields = declaredItem.payload.customFields as { key: string; labels: string[] }[];
      expect(fields.find((f) => f.key === 'affected_services')!.labels.sort()).toEqual([a.name, b.name].sort());
      expect(declaredItem.text).toContain(a.name);
      expect(declaredItem.text).toContain(b.name);
      expect(JSON.stringify(declaredItem)).not.toContain(a.id);

      // The channel header shows the fields of the declare form by name; a field not in it (Postmortem doc) is not shown.
      const { header } = await incidentChannel(stack, declared.number);
      const [first, second] = [a.name, b.name];
      expect(header().text).toMatch(new RegExp(`Affected services: (${first}, ${second}|${second}, ${first})`));
      expect(header().text).toContain('Region: EU');
      expect(JSON.stringify(header().blocks)).not.toContain(a.id);
    });

    it('a required field left empty: Slack will not send it; made required meanwhile, the API error shows on its block', async () => {
      const view = await openDeclare(alice); // opened while the field is optional
      const patch = await owner.patch(`/api/v1/custom_fields/${affected.id}`, { required_at_declaration: true });
      expect(patch.status).toBe(200);
      try {
        const r = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { name: { value: 'Search is slow' } } });
        expect(r.body.response_action).toBe('errors');
        expect(Object.keys(r.body.errors)).toEqual([`cf:${affected.id}`]);
        expect(r.body.errors[`cf:${affected.id}`]).toMatch(/Affected services is required/);
        expect(((await owner.get('/api/v1/incidents')).body.incidents as any[]).some((i) => i.name === 'Search is slow')).toBe(false);
        await emu.driver.closeView({ userId: alice.id, viewId: view.id });

        // A modal opened now has the block required, so Slack itself refuses an empty submit.
        const fresh = await openDeclare(alice);
        expect(block(fresh, affected).optional).toBe(false);
        await expect(emu.driver.submitView({ userId: alice.id, viewId: fresh.id, values: { name: { value: 'Search is slow' } } })).rejects.toThrow(/required/i);
        await emu.driver.closeView({ userId: alice.id, viewId: fresh.id });
      } finally {
        await owner.patch(`/api/v1/custom_fields/${affected.id}`, { required_at_declaration: false });
      }
    });

    it('/incident field opens every field prefilled; a change writes one timeline item, unchanged fields none', async () => {
      const { channel } = await incidentChannel(stack, declared.number);
      const view = await openFields(alice, channel.id);
      expect(view.blocks.map((b: any) => b.block_id)).toEqual([`cf:${affected.id}`, `cf:${region.id}`, `cf:${postmortem.id}`]);
      const svc = block(view, affected);
      expect(svc.element.initial_options.map((o: any) => o.text.text).sort()).toEqual([services[0]!.name, services[1]!.name].sort());
      expect(block(view, region).element.initial_option.text.text).toBe('EU');
      expect(block(view, postmortem).element.type).toBe('url_text_input');
      expect(block(view, postmortem).element.initial_value).toBeUndefined();

      const changesBefore = (await timeline(declared.id)).filter((i) => i.kind === 'custom_field_changed').length;
      const submit = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { [`cf:${region.id}`]: { value: block(view, region).element.options[1].value } } });
      expect(submit.body?.response_action).toBeUndefined();
      expect(submit.view.isOpen).toBe(false);
      const changes = (await timeline(declared.id)).filter((i) => i.kind === 'custom_field_changed');
      expect(changes).toHaveLength(changesBefore + 1);
      expect(changes[changes.length - 1].payload).toMatchObject({ field: { key: 'region', name: 'Region' }, from: ['EU'], to: ['US'] });
      const inc = (await owner.get(`/api/v1/incidents/${declared.id}`)).body.incident;
      expect(inc.custom_fields.find((v: any) => v.field.key === 'region').display[0].label).toBe('US');
      expect(inc.custom_fields.find((v: any) => v.field.key === 'affected_services').value).toEqual([services[0]!.id, services[1]!.id]);
      const { header } = await incidentChannel(stack, declared.number);
      const channelTexts = (id: string) => emu.messagesIn(id).map((m) => m.text);
      await waitFor('the header to follow', () => header().text.includes('Region: US'));
      await waitFor('the change told in the channel', () => channelTexts(channel.id).some((m) => m.includes('Region changed from EU to US')));

      // Submitting again without touching anything changes nothing.
      const again = await openFields(alice, channel.id, 'fields');
      expect(block(again, region).element.initial_option.text.text).toBe('US');
      await emu.driver.submitView({ userId: alice.id, viewId: again.id, values: {} });
      expect((await timeline(declared.id)).filter((i) => i.kind === 'custom_field_changed')).toHaveLength(changesBefore + 1);
    });

    it('/incident field sets a link, swaps a service and clears a value; a bad link comes back on its block', async () => {
      const { channel } = await incidentChannel(stack, declared.number);
      const view = await openFields(alice, channel.id);
      const svc = block(view, affected);
      const bad = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { [`cf:${postmortem.id}`]: { value: 'ftp://docs.example.com/pm' } } });
      expect(bad.body.response_action).toBe('errors');
      expect(bad.body.errors[`cf:${postmortem.id}`]).toMatch(/http/);

      const third = services[2]!;
      const before = (await timeline(declared.id)).filter((i) => i.kind === 'custom_field_changed').length;
      const ok = await emu.driver.submitView({
        userId: alice.id,
        viewId: view.id,
        values: {
          [`cf:${postmortem.id}`]: { value: 'https://docs.example.com/pm/1' },
          [svc.block_id]: { [svc.element.action_id]: [{ value: services[0]!.id, text: services[0]!.name }, { value: third.id, text: third.name }] },
          [`cf:${region.id}`]: { value: null },
        },
      });
      expect(ok.body?.response_action).toBeUndefined();
      const items = (await timeline(declared.id)).filter((i) => i.kind === 'custom_field_changed');
      expect(items).toHaveLength(before + 3);
      const svcChange = items.find((i) => i.payload.field.key === 'affected_services');
      expect(svcChange.payload.to.sort()).toEqual([services[0]!.name, third.name].sort());
      const inc = (await owner.get(`/api/v1/incidents/${declared.id}`)).body.incident;
      const byKey = Object.fromEntries(inc.custom_fields.map((v: any) => [v.field.key, v]));
      expect(byKey.postmortem.value).toBe('https://docs.example.com/pm/1');
      expect(byKey.region).toBeUndefined();
    });

    it('a catalog field over a custom type: at most 100 options, search narrows, default prefilled by name, one entry picked', async () => {
      const type = await owner.post('/api/v1/catalog_types', { type_name: 'Customer', name: 'Customer', attributes: [] });
      expect(type.status).toBe(201);
      const entries: { id: string; name: string }[] = [];
      for (let i = 1; i <= 120; i++) {
        const r = await owner.post('/api/v1/catalog_entries', { catalog_type_id: 'Customer', name: `Customer ${String(i).padStart(3, '0')}` });
        expect(r.status).toBe(201);
        entries.push(r.body.catalog_entry);
      }
      const archived = entries[109]!; // Customer 110
      expect((await owner.post(`/api/v1/catalog_entries/${archived.id}/actions/archive`, {})).status).toBe(200);
      const preset = entries[6]!; // Customer 007
      const made = await owner.post('/api/v1/custom_fields', { key: 'customer', name: 'Customer', type: 'catalog', catalog_type: 'Customer', multiple: false, show_in_declare: true, default_value: preset.id });
      expect(made.status).toBe(201);
      const customer = made.body.custom_field ?? made.body;

      const view = await openDeclare(alice);
      const b = block(view, customer);
      expect(b.element.type).toBe('external_select');
      expect(b.element.initial_option).toEqual({ text: { type: 'plain_text', text: 'Customer 007' }, value: preset.id });
      const ask = (value: string) => emu.driver.optionsRequest({ userId: alice.id, viewId: view.id, blockId: b.block_id, actionId: b.element.action_id, value });
      const all = await ask('');
      expect(all.body.options).toHaveLength(100);
      expect(all.body.options[0].text.text).toBe('Customer 001');
      const eleven = await ask('customer 11');
      // Customer 110 is archived: left out.
      expect(eleven.body.options.map((o: any) => o.text.text)).toEqual(Array.from({ length: 9 }, (_, i) => `Customer ${111 + i}`));

      const picked = entries[114]!; // Customer 115
      const submit = await emu.driver.submitView({ userId: alice.id, viewId: view.id, values: { name: { value: 'Invoices late' }, [b.block_id]: { [b.element.action_id]: { value: picked.id, text: picked.name } } } });
      expect(submit.body?.response_action).toBeUndefined();
      const inc = await waitFor('the incident', async () => ((await owner.get('/api/v1/incidents')).body.incidents as any[]).find((i) => i.name === 'Invoices late'));
      const value = inc.custom_fields?.find((v: any) => v.field.key === 'customer') ?? (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.custom_fields.find((v: any) => v.field.key === 'customer');
      expect(value.value).toBe(picked.id);
      expect(value.display.map((d: any) => d.label)).toEqual(['Customer 115']);

      // Archived later, the entry stays on the incident, marked archived in the modal; saving unchanged is fine.
      expect((await owner.post(`/api/v1/catalog_entries/${picked.id}/actions/archive`, {})).status).toBe(200);
      const { channel } = await incidentChannel(stack, inc.number);
      const edit = await openFields(alice, channel.id);
      expect(block(edit, customer).element.initial_option).toEqual({ text: { type: 'plain_text', text: 'Customer 115 (archived)' }, value: picked.id });
      const items = (await timeline(inc.id)).length;
      const saved = await emu.driver.submitView({ userId: alice.id, viewId: edit.id, values: {} });
      expect(saved.body?.response_action).toBeUndefined();
      expect((await timeline(inc.id)).length).toBe(items);
      const after = (await owner.get(`/api/v1/incidents/${inc.id}`)).body.incident.custom_fields.find((v: any) => v.field.key === 'customer');
      expect(after.display).toMatchObject([{ label: 'Customer 115', archived: true }]);
    }, 60_000);

    it('a viewer cannot change fields: refused on submit, then at once', async () => {
      const made = await owner.post('/api/v1/users', { name: 'Vera Viewer', email: 'vera.viewer@example.com', role: 'viewer' });
      expect(made.status).toBe(201);
      const vera = person(emu, 'Vera', 'vera.viewer@example.com');
      const { channel } = await incidentChannel(stack, declared.number);
      // Not matched to a Firebreak user yet: the form opens while Firebreak looks her up, and the submit is refused.
      const view = await openFields(vera, channel.id);
      const before = (await timeline(declared.id)).length;
      const r = await emu.driver.submitView({ userId: vera.id, viewId: view.id, values: { [`cf:${postmortem.id}`]: { value: 'https://docs.example.com/vera' } } });
      expect(r.body.response_action).toBe('errors');
      expect(Object.values(r.body.errors).join(' ')).toContain('You are a viewer in Firebreak');
      expect((await timeline(declared.id)).length).toBe(before);
      await emu.driver.closeView({ userId: vera.id, viewId: view.id });
      // Known now: told at once, no form.
      await emu.driver.slashCommand({ userId: vera.id, channelId: channel.id, command: '/incident', text: 'field' });
      expect(await waitFor('answer', () => ephemeralText(stack, vera.id))).toContain('You are a viewer in Firebreak');
      expect(emu.openViews(vera.id)).toHaveLength(0);
    });

    it('outside an incident channel /incident field says where it works; help lists it', async () => {
      const bob = person(emu, 'Bob Dev');
      await emu.driver.slashCommand({ userId: bob.id, channelId: general.id, command: '/incident', text: 'field' });
      expect(await waitFor('answer', () => ephemeralText(stack, bob.id))).toContain("`/incident field` works in an incident's channel");
      expect(emu.openViews(bob.id)).toHaveLength(0);
      await emu.driver.slashCommand({ userId: bob.id, channelId: general.id, command: '/incident', text: 'help' });
      const help = await waitFor('help', () => emu.ephemeralsFor(bob.id).find((e) => e.text.includes('runs incidents')));
      expect(help.text).toMatch(/`\/incident field` set the incident's custom fields/);
    });
  });
}
