/**
 * Who is on call: schedule layers, restrictions and overrides rendered into time intervals, the way PagerDuty's
 * final schedule is built. Pure functions over records (no store, no clock), so they are unit-tested directly.
 *
 * - A layer rotates its ordered users in turns of `rotation_turn_length_seconds`, counted from
 *   `rotation_virtual_start` (which may lie before `start`); turn k belongs to users[k mod n].
 * - A layer covers only [start, end) and, when it has restrictions, only the restricted windows (daily: a time of
 *   day and a duration; weekly: a day of the week, a time of day and a duration), read in the schedule's time zone.
 *   The rotation keeps turning outside those windows (a restriction masks coverage, it does not pause the turn).
 * - Layers are stacked in array order: a later layer sits above an earlier one and wins wherever it has someone.
 * - Overrides sit above every layer; where overrides overlap, the one created last wins.
 */
import type { ScheduleLayerRecord, ScheduleOverrideRecord, ScheduleRecord, ScheduleRestrictionRecord } from './types.js';

export interface OnCallInterval { start: number; end: number; user_id: string }

const DAY = 86_400_000;
/** How far around a window the renderer looks so an entry that started before it keeps its true start. */
const PAD_MAX = 35 * DAY;

// ---------- time zones (Intl, no library) ----------
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** True when Intl knows the zone (IANA names such as `Europe/Paris`, `Etc/UTC`). */
export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz === '') return false;
  try { formatter(tz); return true; } catch { return false; }
}

/** Local wall-clock fields of an instant in a zone. */
function wall(tz: string, t: number): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour! % 24, mi: parts.minute!, s: parts.second! };
}

/** The zone's offset from UTC at instant t, in milliseconds (east positive). */
export function zoneOffsetMs(tz: string, t: number): number {
  const w = wall(tz, t);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/** The instant at which the zone's clock shows the given wall time (the later one when DST makes it ambiguous). */
export function zonedToUtc(tz: string, y: number, m0: number, d: number, secondsOfDay: number): number {
  const guess = Date.UTC(y, m0, d) + secondsOfDay * 1000;
  const o1 = zoneOffsetMs(tz, guess);
  const t = guess - o1;
  const o2 = zoneOffsetMs(tz, t);
  return o2 === o1 ? t : guess - o2;
}

/** ISO 8601 with the zone's offset, to the second (`2026-03-02T09:00:00+01:00`; `Z` for UTC). */
export function formatInZone(t: number, tz = 'Etc/UTC'): string {
  const off = zoneOffsetMs(tz, t);
  const local = new Date(Math.floor(t / 1000) * 1000 + off).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const a = Math.abs(off) / 60_000;
  return `${local}${off > 0 ? '+' : '-'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function parseTimeOfDay(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) return undefined;
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || mi > 59 || sec > 59) return undefined;
  return h * 3600 + mi * 60 + sec;
}

// ---------- intervals ----------
function union(xs: { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = xs.filter((x) => x.end > x.start).sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.start <= last.end) last.end = Math.max(last.end, x.end);
    else out.push({ ...x });
  }
  return out;
}

/** The windows the restrictions allow within [from, to), in the zone's wall-clock. */
export function restrictionWindows(restrictions: readonly ScheduleRestrictionRecord[], tz: string, from: number, to: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const r of restrictions) {
    const sod = parseTimeOfDay(r.start_time_of_day) ?? 0;
    const dur = r.duration_seconds * 1000;
    // Walk local dates from far enough back that a window which started earlier still counts.
    const back = r.type === 'weekly_restriction' ? 8 : 2 + Math.ceil(dur / DAY);
    const first = wall(tz, from - back * DAY);
    const last = wall(tz, to);
    const lastDay = Date.UTC(last.y, last.m - 1, last.d);
    for (let day = Date.UTC(first.y, first.m - 1, first.d); day <= lastDay; day += DAY) {
      const dt = new Date(day);
      if (r.type === 'weekly_restriction') {
        const isoDow = dt.getUTCDay() === 0 ? 7 : dt.getUTCDay();
        if (isoDow !== (r.start_day_of_week ?? 1)) continue;
      }
      const start = zonedToUtc(tz, dt.getUTCFullYear(), dt.getUTCMonth(), dt.getUTCDate(), sod);
      const s = Math.max(start, from); const e = Math.min(start + dur, to);
      if (e > s) out.push({ start: s, end: e });
    }
  }
  return union(out);
}

/** One layer's entries within [from, to) (clipped to it), in time order. */
export function layerEntries(layer: ScheduleLayerRecord, tz: string, from: number, to: number): OnCallInterval[] {
  const n = layer.user_ids.length;
  const len = layer.rotation_turn_length_seconds * 1000;
  if (n === 0 || !(len > 0)) return [];
  const a = Math.max(from, Date.parse(layer.start));
  const b = Math.min(to, layer.end ? Date.parse(layer.end) : Infinity);
  if (!(b > a)) return [];
  const vstart = Date.parse(layer.rotation_virtual_start);
  const windows = layer.restrictions.length > 0 ? restrictionWindows(layer.restrictions, tz, a, b) : [{ start: a, end: b }];
  const out: OnCallInterval[] = [];
  for (const w of windows) {
    let k = Math.floor((w.start - vstart) / len);
    for (let t = w.start; t < w.end; k++) {
      const turnEnd = vstart + (k + 1) * len;
      const e = Math.min(turnEnd, w.end);
      const user = layer.user_ids[((k % n) + n) % n]!;
      const prev = out[out.length - 1];
      if (prev && prev.end === t && prev.user_id === user) prev.end = e;
      else out.push({ start: t, end: e, user_id: user });
      t = e;
    }
  }
  return out;
}

/** Overrides within [from, to), clipped. */
export function overrideEntries(overrides: readonly ScheduleOverrideRecord[], from: number, to: number): (OnCallInterval & { order: number })[] {
  const out: (OnCallInterval & { order: number })[] = [];
  overrides.forEach((o, order) => {
    const s = Math.max(from, Date.parse(o.start)); const e = Math.min(to, Date.parse(o.end));
    if (e > s) out.push({ start: s, end: e, user_id: o.user_id, order });
  });
  return out;
}

function covering<T extends { start: number; end: number }>(xs: readonly T[], t: number): T | undefined {
  // entries are sorted and disjoint: binary search
  let lo = 0; let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = xs[mid]!;
    if (t < x.start) hi = mid - 1; else if (t >= x.end) lo = mid + 1; else return x;
  }
  return undefined;
}

/** The final schedule within [from, to): overrides over layers, later layers over earlier ones, clipped, merged. */
export function finalEntries(s: Pick<ScheduleRecord, 'layers' | 'overrides' | 'time_zone'>, from: number, to: number): OnCallInterval[] {
  if (!(to > from)) return [];
  const layers = s.layers.map((l) => layerEntries(l, s.time_zone, from, to));
  const overrides = overrideEntries(s.overrides, from, to);
  const cuts = new Set<number>([from, to]);
  for (const l of layers) for (const x of l) { cuts.add(x.start); cuts.add(x.end); }
  for (const x of overrides) { cuts.add(x.start); cuts.add(x.end); }
  const points = [...cuts].filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  const out: OnCallInterval[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const t = points[i]!; const e = points[i + 1]!;
    let user: string | undefined;
    let best = -1;
    for (const o of overrides) if (o.start <= t && t < o.end && o.order > best) { best = o.order; user = o.user_id; }
    for (let li = layers.length - 1; user === undefined && li >= 0; li--) user = covering(layers[li]!, t)?.user_id;
    if (user === undefined) continue;
    const prev = out[out.length - 1];
    if (prev && prev.end === t && prev.user_id === user) prev.end = e;
    else out.push({ start: t, end: e, user_id: user });
  }
  return out;
}

/** How far the renderer looks around a window so entries keep their true start and end (capped at 35 days). */
export function padFor(s: Pick<ScheduleRecord, 'layers'>): number {
  const longest = Math.max(DAY, ...s.layers.map((l) => l.rotation_turn_length_seconds * 1000));
  return Math.min(PAD_MAX, longest + 8 * DAY);
}

/**
 * On-call entries overlapping [since, until] (an instant when they are equal), with their full start and end
 * (not cut at the window, up to the renderer's look-around).
 */
export function onCallEntries(s: Pick<ScheduleRecord, 'layers' | 'overrides' | 'time_zone'>, since: number, until: number): OnCallInterval[] {
  const pad = padFor(s);
  const entries = finalEntries(s, since - pad, Math.max(until, since + 1) + pad);
  return entries.filter((e) => e.end > since && e.start <= until && (until > since ? e.start < until : true));
}

/** The user on call at instant t, if anyone. */
export function onCallAt(s: Pick<ScheduleRecord, 'layers' | 'overrides' | 'time_zone'>, t: number): string | undefined {
  return finalEntries(s, t, t + 1)[0]?.user_id;
}
