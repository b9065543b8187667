import { describe, expect, it } from 'vitest';
import {
  blockForPath,
  catalogTypeOfAction,
  changedValues,
  declareFieldBlocks,
  declareFields,
  errorsForBlocks,
  fieldBlock,
  fieldsView,
  pickOptions,
  readFieldValues,
  type FieldDef,
} from './custom-fields.view.js';

// The custom-field blocks of the Slack modals and the reading of their submissions, without Slack.

let n = 0;
function field(over: Partial<FieldDef> & Pick<FieldDef, 'type'>): FieldDef {
  n += 1;
  return {
    id: `f${n}`,
    key: `field_${n}`,
    name: `Field ${n}`,
    description: '',
    options: [],
    catalogTypeId: null,
    multiple: false,
    requiredAtDeclaration: false,
    requiredBeforeClose: false,
    showInDeclare: true,
    defaultValue: null,
    ...over,
  };
}

const el = (b: Record<string, unknown>) => b.element as Record<string, any>;

describe('field blocks', () => {
  it('one input per type, each with its own stable block id', () => {
    const opts = [{ id: 'o1', label: 'EU' }, { id: 'o2', label: 'US' }];
    const fields = [
      field({ type: 'text' }),
      field({ type: 'number' }),
      field({ type: 'link' }),
      field({ type: 'single_select', options: opts }),
      field({ type: 'multi_select', options: opts }),
      field({ type: 'catalog', catalogTypeId: 'T1', multiple: false }),
      field({ type: 'catalog', catalogTypeId: 'T2', multiple: true }),
    ];
    const blocks = fields.map((f) => fieldBlock(f, null, { required: false }));
    expect(blocks.map((b) => el(b).type)).toEqual(['plain_text_input', 'number_input', 'url_text_input', 'static_select', 'multi_static_select', 'external_select', 'multi_external_select']);
    expect(blocks.map((b) => b.block_id)).toEqual(fields.map((f) => `cf:${f.id}`));
    expect(el(blocks[1]!).is_decimal_allowed).toBe(true);
    expect(el(blocks[3]!).options.map((o: any) => o.text.text)).toEqual(['EU', 'US']);
    expect(el(blocks[5]!).action_id).toBe('cf_catalog:T1');
    expect(el(blocks[6]!).min_query_length).toBeLessThanOrEqual(1);
    expect(catalogTypeOfAction(el(blocks[6]!).action_id)).toBe('T2');
    expect(catalogTypeOfAction('esc_policies')).toBeNull();
  });

  it('required fields are not optional; labels, hints and option texts stay within Slack limits', () => {
    const long = 'x'.repeat(3000);
    const f = field({ type: 'single_select', name: long, description: long, options: [{ id: 'o', label: 'y'.repeat(200) }] });
    const b = fieldBlock(f, null, { required: true });
    expect(b.optional).toBe(false);
    expect((b.label as any).text.length).toBeLessThanOrEqual(2000);
    expect((b.hint as any).text.length).toBeLessThanOrEqual(2000);
    expect(el(b).options[0].text.text.length).toBeLessThanOrEqual(75);
    expect(fieldBlock(f, null, { required: false }).optional).toBe(true);
  });

  it('prefills every kind of input; catalog entries by name', () => {
    const opts = [{ id: 'o1', label: 'EU' }, { id: 'o2', label: 'US' }];
    expect(el(fieldBlock(field({ type: 'text' }), { value: 'hello' }, { required: false })).initial_value).toBe('hello');
    expect(el(fieldBlock(field({ type: 'number' }), { value: 0 }, { required: false })).initial_value).toBe('0');
    expect(el(fieldBlock(field({ type: 'link' }), { value: 'https://x.test' }, { required: false })).initial_value).toBe('https://x.test');
    expect(el(fieldBlock(field({ type: 'single_select', options: opts }), { value: 'o2' }, { required: false })).initial_option).toEqual({ text: { type: 'plain_text', text: 'US' }, value: 'o2' });
    expect(el(fieldBlock(field({ type: 'multi_select', options: opts }), { value: ['o1', 'o2'] }, { required: false })).initial_options.map((o: any) => o.value)).toEqual(['o1', 'o2']);
    const cat = fieldBlock(field({ type: 'catalog', catalogTypeId: 'T', multiple: true }), { value: ['e1', 'e2'], names: { e1: 'Checkout', e2: 'Search (archived)' } }, { required: false });
    expect(el(cat).initial_options).toEqual([
      { text: { type: 'plain_text', text: 'Checkout' }, value: 'e1' },
      { text: { type: 'plain_text', text: 'Search (archived)' }, value: 'e2' },
    ]);
    const one = fieldBlock(field({ type: 'catalog', catalogTypeId: 'T' }), { value: 'e1', names: { e1: 'Checkout' } }, { required: false });
    expect(el(one).initial_option.text.text).toBe('Checkout');
    expect(el(fieldBlock(field({ type: 'text' }), null, { required: false })).initial_value).toBeUndefined();
  });

  it('a static select keeps at most 100 options, always including the selected one', () => {
    const options = Array.from({ length: 150 }, (_, i) => ({ id: `o${i}`, label: `Option ${i}` }));
    const b = fieldBlock(field({ type: 'single_select', options }), { value: 'o140' }, { required: false });
    expect(el(b).options).toHaveLength(100);
    expect(el(b).initial_option.value).toBe('o140');
    expect(el(b).options.map((o: any) => o.value)).toContain('o140');
    const multi = fieldBlock(field({ type: 'multi_select', options }), { value: ['o120', 'o130'] }, { required: false });
    expect(el(multi).options).toHaveLength(100);
    expect(el(multi).initial_options.map((o: any) => o.value)).toEqual(['o120', 'o130']);
    expect(pickOptions(options.slice(0, 3), ['o2'], 2).map((o) => o.id)).toEqual(['o0', 'o2']);
  });
});

describe('the declare modal fields', () => {
  it('shows fields marked for the declare form and every required one, in rank order, defaults prefilled', () => {
    const a = field({ type: 'text', showInDeclare: true, defaultValue: 'preset' });
    const hidden = field({ type: 'text', showInDeclare: false });
    const required = field({ type: 'catalog', catalogTypeId: 'T', multiple: true, showInDeclare: false, requiredAtDeclaration: true, defaultValue: ['e1'] });
    const blocks = declareFieldBlocks([a, hidden, required], 96, { e1: 'Checkout' });
    expect(blocks.map((b) => b.block_id)).toEqual([`cf:${a.id}`, `cf:${required.id}`]);
    expect(blocks.map((b) => b.optional)).toEqual([true, false]);
    expect(el(blocks[0]!).initial_value).toBe('preset');
    expect(el(blocks[1]!).initial_options[0].text.text).toBe('Checkout');
  });

  it('with more fields than blocks left, keeps the required ones', () => {
    const many = Array.from({ length: 10 }, () => field({ type: 'text' }));
    const req = field({ type: 'text', requiredAtDeclaration: true, showInDeclare: false });
    const chosen = declareFields([...many, req], 4);
    expect(chosen).toHaveLength(4);
    expect(chosen.map((f) => f.id)).toContain(req.id);
    expect(chosen[chosen.length - 1]!.id).toBe(req.id); // still in rank order
  });
});

describe('the /incident field modal', () => {
  it('has every field (at most 100 blocks), optional, prefilled with the current values', () => {
    const fields = Array.from({ length: 120 }, () => field({ type: 'text', showInDeclare: false, requiredAtDeclaration: true }));
    const current = new Map([[fields[0]!.id, { value: 'now' }]]);
    const v = fieldsView({ incidentId: 'i1', reference: 'INC-12345' }, fields, current) as any;
    expect(v.blocks).toHaveLength(100);
    expect(v.blocks.every((b: any) => b.optional === true)).toBe(true);
    expect(v.blocks[0].element.initial_value).toBe('now');
    expect(v.title.text.length).toBeLessThanOrEqual(24);
    expect(JSON.parse(v.private_metadata)).toEqual({ incidentId: 'i1' });
  });
});

describe('reading a submission', () => {
  const text = field({ type: 'text' });
  const num = field({ type: 'number' });
  const link = field({ type: 'link' });
  const one = field({ type: 'single_select', options: [{ id: 'o1', label: 'EU' }] });
  const many = field({ type: 'multi_select', options: [{ id: 'o1', label: 'EU' }, { id: 'o2', label: 'US' }] });
  const svc = field({ type: 'catalog', catalogTypeId: 'T', multiple: true });
  const owner = field({ type: 'catalog', catalogTypeId: 'U', multiple: false });
  const fields = [text, num, link, one, many, svc, owner];
  const state = (over: Record<string, any> = {}) => ({
    [`cf:${text.id}`]: { value: { type: 'plain_text_input', value: '  hi  ' } },
    [`cf:${num.id}`]: { value: { type: 'number_input', value: '2.5' } },
    [`cf:${link.id}`]: { value: { type: 'url_text_input', value: null } },
    [`cf:${one.id}`]: { value: { type: 'static_select', selected_option: { value: 'o1' } } },
    [`cf:${many.id}`]: { value: { type: 'multi_static_select', selected_options: [] } },
    [`cf:${svc.id}`]: { 'cf_catalog:T': { type: 'multi_external_select', selected_options: [{ value: 'e1' }, { value: 'e2' }] } },
    [`cf:${owner.id}`]: { 'cf_catalog:U': { type: 'external_select', selected_option: { value: 'u1' } } },
    ...over,
  });

  it('reads each input into the raw value the API takes, empty as null', () => {
    const r = readFieldValues(state(), fields);
    expect(r.errors).toEqual({});
    expect(r.values).toEqual({ [text.key]: 'hi', [num.key]: 2.5, [link.key]: null, [one.key]: 'o1', [many.key]: null, [svc.key]: ['e1', 'e2'], [owner.key]: 'u1' });
  });

  it('leaves out fields whose block is not in the modal', () => {
    const r = readFieldValues({ [`cf:${text.id}`]: { value: { value: 'x' } } }, fields);
    expect(Object.keys(r.values)).toEqual([text.key]);
  });

  it('a number input that is not a number is an error on its block', () => {
    const r = readFieldValues(state({ [`cf:${num.id}`]: { value: { type: 'number_input', value: 'abc' } } }), fields);
    expect(r.errors).toEqual({ [`cf:${num.id}`]: 'Enter a number.' });
  });

  it('only changed fields are sent; clearing sends null; order of many values does not matter', () => {
    const read = readFieldValues(state(), fields).values;
    const current = new Map<string, string | number | string[]>([
      [text.id, 'hi'],
      [num.id, 2.5],
      [link.id, 'https://old.test'],
      [one.id, 'o1'],
      [svc.id, ['e2', 'e1']],
      [owner.id, 'u2'],
    ]);
    expect(changedValues(read, fields, current)).toEqual({ [link.key]: null, [owner.key]: 'u1' });
    const same = new Map(current);
    same.set(link.id, '');
    same.set(owner.id, 'u1');
    same.delete(link.id);
    expect(changedValues(read, fields, same)).toEqual({});
  });
});

describe('validation errors', () => {
  const f = field({ type: 'catalog', catalogTypeId: 'T', key: 'affected_services' });
  const other = field({ type: 'text', key: 'not_shown' });
  const inModal = new Set([`cf:${f.id}`, 'name']);

  it('custom_field_values.<key> goes to the field block; others to the fallback', () => {
    expect(blockForPath('custom_field_values.affected_services', [f, other], inModal, 'name')).toBe(`cf:${f.id}`);
    expect(blockForPath(`custom_field_values.${f.id}.0`, [f, other], inModal, 'name')).toBe(`cf:${f.id}`);
    expect(blockForPath('custom_field_values.not_shown', [f, other], inModal, 'name')).toBe('name');
    expect(blockForPath('severity_id', [f, other], inModal, 'name')).toBe('name');
  });

  it("carries the API's messages", () => {
    const e = errorsForBlocks(
      [
        { path: 'custom_field_values.affected_services', message: 'is required' },
        { path: 'custom_field_values.not_shown', message: 'is required' },
      ],
      [f, other],
      inModal,
      'name',
      'Affected services and Not shown are required.',
    );
    expect(e).toEqual({ [`cf:${f.id}`]: 'is required', name: 'Affected services and Not shown are required.' });
    expect(errorsForBlocks([], [f], inModal, 'name', 'Bad.')).toEqual({ name: 'Bad.' });
  });
});
