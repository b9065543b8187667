import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

// The chaos suite's children hand jobs of a killed process to the survivor after JOB_LOCK_TIMEOUT_MS instead of
// a minute; the knob is an operator setting too, so it is read and checked like every other variable.

describe('JOB_LOCK_TIMEOUT_MS', () => {
  it('defaults to a minute, takes milliseconds, and refuses values under a second by name', () => {
    expect(loadConfig({}).jobLockTimeoutMs).toBe(60_000);
    expect(loadConfig({ JOB_LOCK_TIMEOUT_MS: '4000' }).jobLockTimeoutMs).toBe(4000);
    expect(() => loadConfig({ JOB_LOCK_TIMEOUT_MS: '500' })).toThrow(/JOB_LOCK_TIMEOUT_MS="500"/);
    expect(() => loadConfig({ JOB_LOCK_TIMEOUT_MS: 'soon' })).toThrow(/JOB_LOCK_TIMEOUT_MS="soon"/);
  });
});
