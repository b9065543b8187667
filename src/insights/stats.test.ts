import { describe, expect, it } from 'vitest';
import { hourOfWeek, hourOfWeekFormatter, isTimeZone, quantile, weekStart, weeksBetween } from './stats.js';

describe('insights arithmetic', () => {
  it('starts weeks on Monday 00:00 UTC', () => {
    expect(weekStart('2026-09-07T00:00:00Z')).toBe('2026-09-07'); // a Monday
    expect(weekStart('2026-09-13T23:59:59.999Z')).toBe('2026-09-07'); // the Sunday after
    expect(weekStart('2026-09-14T00:00:00Z')).toBe('2026-09-14');
    expect(weekStart('2027-01-01T12:00:00Z')).toBe('2026-12-28'); // across a year
  });

  it('lists every week of a range, the end exclusive', () => {
    expect(weeksBetween('2026-09-07T00:00:00.000Z', '2026-09-21T00:00:00.000Z')).toEqual(['2026-09-07', '2026-09-14']);
    expect(weeksBetween('2026-09-09T00:00:00.000Z', '2026-09-21T00:00:00.001Z')).toEqual(['2026-09-07', '2026-09-14', '2026-09-21']);
  });

  it('interpolates quantiles between closest ranks', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5); // mean of the middle two
    expect(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9)).toBe(91); // rank 8.1
    expect(quantile([60, 120, 300], 0.9)).toBe(264); // rank 1.8: 120 + 0.8 × 180
  });

  it('reads day and hour as the clock of the time zone shows them, summer time included', () => {
    const berlin = hourOfWeekFormatter('Europe/Berlin');
    expect(hourOfWeek(berlin, '2026-09-16T23:30:00Z')).toEqual({ day: 3, hour: 1 }); // CEST, Thursday 01:30
    expect(hourOfWeek(berlin, '2026-12-16T23:30:00Z')).toEqual({ day: 3, hour: 0 }); // CET, Thursday 00:30
    expect(hourOfWeek(hourOfWeekFormatter('UTC'), '2026-09-13T00:00:00Z')).toEqual({ day: 6, hour: 0 }); // Sunday midnight, not 24
    expect(hourOfWeek(hourOfWeekFormatter('Asia/Kolkata'), '2026-09-14T18:45:00Z')).toEqual({ day: 1, hour: 0 }); // +05:30
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
