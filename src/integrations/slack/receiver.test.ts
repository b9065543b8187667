import { describe, expect, it } from 'vitest';
import { parseBody } from './receiver.js';

// What Slack posts is read the same whichever way it is decoded: a lone `payload` field directly, anything else
// through URLSearchParams (the reference).

const FORM = 'application/x-www-form-urlencoded';
const reference = (raw: string) => {
  const form = new URLSearchParams(raw);
  const payload = form.get('payload');
  return payload !== null ? JSON.parse(payload) : Object.fromEntries(form.entries());
};

describe('reading a Slack form body', () => {
  it('a lone payload field reads as URLSearchParams reads it: spaces, plus signs, percent signs, ampersands, emoji, new lines', () => {
    const view = { type: 'view_submission', view: { state: { values: { name: { v: { value: 'C++ 100% down & out 🔥\nsecond line' } } } } }, user: { id: 'U1' } };
    // Encoded as Slack does (spaces as '+'), and as some clients do (spaces as %20).
    for (const raw of [`payload=${new URLSearchParams({ x: JSON.stringify(view) }).toString().slice(2)}`, `payload=${encodeURIComponent(JSON.stringify(view))}`]) {
      expect(parseBody(raw, FORM)).toEqual(view);
      expect(parseBody(raw, `${FORM}; charset=utf-8`)).toEqual(reference(raw));
    }
  });

  it('an encoding decodeURIComponent refuses still reads as URLSearchParams reads it', () => {
    const raw = `payload=${encodeURIComponent('{"text":"')}100%zz${encodeURIComponent('"}')}`;
    expect(parseBody(raw, FORM)).toEqual({ text: '100%zz' });
    expect(parseBody(raw, FORM)).toEqual(reference(raw));
  });

  it('a payload beside other fields, and a slash command, are read as forms', () => {
    const both = `token=x&payload=${encodeURIComponent('{"a":1}')}`;
    expect(parseBody(both, FORM)).toEqual({ a: 1 });
    expect(parseBody(`payload=${encodeURIComponent('{"a":1}')}&token=x`, FORM)).toEqual({ a: 1 });
    const command = 'command=%2Fincident&text=declare+Checkout+down&user_id=U1';
    expect(parseBody(command, FORM)).toEqual({ command: '/incident', text: 'declare Checkout down', user_id: 'U1' });
  });

  it('a payload that is not JSON, and a JSON body that is not an object, are refused', () => {
    expect(() => parseBody('payload=not+json', FORM)).toThrow();
    expect(() => parseBody('[1,2]', 'application/json')).toThrow();
  });
});
