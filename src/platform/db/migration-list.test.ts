// Merging the modules' migration lists into the one list Kysely applies: name order across modules, and every
// clash that would make the order ambiguous or a recorded name mean two things refused before anything runs.
import type { Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import { orderedMigrations } from './migration-list.js';

const m = (): Migration => ({ up: async () => {} });

describe('orderedMigrations', () => {
  it('interleaves the modules by number, whatever order the modules come in', () => {
    const core = { '0001_core': m(), '0004_more': m() };
    const slack = { '0002_slack': m() };
    const pd = { '0003_pd': m(), '0005_pd_more': m() };
    const merged = orderedMigrations({ slack, pagerduty: pd, core });
    expect(Object.keys(merged)).toEqual(['0001_core', '0002_slack', '0003_pd', '0004_more', '0005_pd_more']);
    expect(merged['0003_pd']).toBe(pd['0003_pd']);
    expect(merged['0004_more']).toBe(core['0004_more']);
  });

  it('refuses a name listed by two modules', () => {
    expect(() => orderedMigrations({ core: { '0001_core': m() }, slack: { '0001_core': m() } })).toThrow('migration 0001_core is listed by both core and slack');
  });

  it('refuses two migrations with the same number in different modules', () => {
    expect(() => orderedMigrations({ core: { '0007_jobs': m() }, pagerduty: { '0007_budget': m() } })).toThrow(/share the number 0007/);
  });

  it('refuses a name without its four-digit number', () => {
    expect(() => orderedMigrations({ slack: { slack_tables: m() } })).toThrow(/slack_tables \(slack\): a name is a four-digit number/);
    expect(() => orderedMigrations({ slack: { '12_slack': m() } })).toThrow(/12_slack/);
  });

  it('refuses a module list written out of order', () => {
    expect(() => orderedMigrations({ pagerduty: { '0010_b': m(), '0009_a': m() } })).toThrow('migration 0009_a (pagerduty) is listed after 0010_b');
  });
});
