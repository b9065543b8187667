// Pure arithmetic of the insights: weeks, percentiles and the hour-of-week buckets. No database, no clock.

const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

/** The Monday 00:00 UTC that starts the (ISO) week holding this instant, as YYYY-MM-DD. */
export function weekStart(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const mondayIndex = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return new Date(midnight - mondayIndex * DAY_MS).toISOString().slice(0, 10);
}

/** Every week start from the week of `from` to the week holding the last instant before `to`, in order. */
export function weeksBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const last = weekStart(new Date(Date.parse(to) - 1));
  for (let w = weekStart(from); w <= last; w = new Date(Date.parse(`${w}T00:00:00Z`) + WEEK_MS).toISOString().slice(0, 10)) out.push(w);
  return out;
}

/**
 * The p-th quantile (0..1) of the values by linear interpolation between closest ranks (the spreadsheet's
 * PERCENTILE.INC, R's type 7): the median of an even count is the mean of the two middle values. Null when empty.
 */
export function quantile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Whether the runtime knows this IANA time zone ("UTC", "Europe/Berlin"). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const WEEKDAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** Day of week (Monday 0) and hour (0-23) of an instant as a clock in `timeZone` shows it. */
export function hourOfWeek(formatter: Intl.DateTimeFormat, iso: string): { day: number; hour: number } {
  const parts = formatter.formatToParts(new Date(iso));
  const weekday = parts.find((p) => p.type === 'weekday')?.value ?? 'Mon';
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? '0') % 24;
  return { day: WEEKDAY_INDEX[weekday] ?? 0, hour };
}

export function hourOfWeekFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', hourCycle: 'h23' });
}
