import { sql, type Expression, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { DbDialect, Executor } from '../platform/db/index.js';
import type { Database } from '../platform/db/schema.js';
import { timelineText } from './timeline.js';

// Full-text search over incidents (migration 0024_search keeps the index current). This module turns what a person
// typed into a query both backends accept whatever it contains, scores incidents, and says for each result where it
// matched, with the matched words marked as segments (never HTML: the web renders `hit` segments in <mark>).

/** Where an incident matched, best first. `reference` when the search was an incident reference (INC-42). */
export const MATCH_FIELDS = ['reference', 'name', 'summary', 'update', 'note', 'timeline'] as const;
export type MatchField = (typeof MATCH_FIELDS)[number];
export interface SnippetSegment {
  text: string;
  hit: boolean;
}
export interface SearchMatch {
  field: MatchField;
  snippet: SnippetSegment[];
}

export type ParsedSearch =
  | { kind: 'none' }
  | { kind: 'reference'; number: number; reference: string }
  /** `words` folded as SQLite's index and the highlighting fold them; `terms` only lowercased (PostgreSQL's 'simple' keeps diacritics). */
  | { kind: 'words'; words: string[]; terms: string[] }
  /** Only punctuation: nothing can match. */
  | { kind: 'nothing' };

const MAX_WORDS = 10;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** Folds a word the way the index does (case and diacritics). */
function fold(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Words are runs of letters and digits, as the index splits them; everything else separates words, so quotes,
 * FTS5 operators (AND, OR, NOT, NEAR, `*`, `^`, `:`, parentheses) and tsquery syntax (`&`, `|`, `!`, `<->`) are
 * plain text here and can never be a syntax error. The last word matches as a prefix (people type it).
 */
export function parseSearch(q: string | undefined): ParsedSearch {
  const text = (q ?? '').trim();
  if (!text) return { kind: 'none' };
  const ref = /^inc-(\d{1,12})$/i.exec(text);
  if (ref) return { kind: 'reference', number: Number(ref[1]), reference: `INC-${Number(ref[1])}` };
  const found = [...text.matchAll(WORD)].map((m) => m[0]).filter((w) => fold(w) !== '').slice(0, MAX_WORDS);
  return found.length ? { kind: 'words', words: found.map(fold), terms: found.map((w) => w.normalize('NFC').toLowerCase()) } : { kind: 'nothing' };
}

/**
 * Relevance ranks the newest this-many matching incidents (after the filters). Scoring is per matching document, so
 * for a word in most incidents it would cost a score for each of them on every keystroke; past this window a search
 * that broad is better narrowed by another word or a filter, or sorted by date (which has no window).
 */
export const RELEVANCE_WINDOW = 1000;

/**
 * How PostgreSQL finds the relevance window (`pgRelevanceWindow`): the newest `firstSlice` incidents are searched
 * first, then older ranges sized from how many matches the ranges so far held, until the window is full; after
 * `maxSlices` ranges the rest is searched in one. (Tests shrink these to cross slice boundaries with few incidents.)
 */
export interface RelevanceSlicing {
  window: number;
  firstSlice: number;
  maxSlices: number;
}
export const RELEVANCE_SLICING: RelevanceSlicing = { window: RELEVANCE_WINDOW, firstSlice: 2000, maxSlices: 4 };

/** An incident in the relevance window with its score (ts_rank, higher is better). */
export interface Ranked {
  id: string;
  score: number;
}

/**
 * `incident_search` on PostgreSQL (migrations 0024 and 0025): the weighted document, and the incident's status,
 * severity and mode copied beside it by triggers. (On SQLite the table of that name is FTS5's, with other columns.)
 */
export interface PgSearchRow {
  incident_id: string;
  document: string;
  status_id: string;
  severity_id: string;
  mode: string;
}
export type PgSearchDb = Kysely<Database & { incident_search: PgSearchRow }>;

/** The matching rows of `incident_search` (alias `f`) that pass the filters, as `(id, document)`. */
export type PgMatches = SelectQueryBuilder<Database & { incident_search: PgSearchRow } & { f: PgSearchRow }, 'f', { id: string; document: string }>;

/** Where ranges of the relevance window end on PostgreSQL: incidents at growing distances below the newest. */
export interface WindowEnds {
  top: number;
  ends: { id: string; number: number }[];
}

/**
 * The incidents 2,000, 2,500, 3,125… (a quarter more each) numbers below the newest, as far as the oldest: one
 * statement, one index probe each. Any incidents can be range ends (ranges only need to be contiguous), so these may
 * be reused for a while after newer incidents arrive: those fall in the first range, which is open above.
 */
export async function pgWindowEnds(db: Executor, slicing: RelevanceSlicing = RELEVANCE_SLICING): Promise<WindowEnds> {
  const rows = (
    await sql<{ id: string; number: number; top: number }>`
      select distinct b.id, b.number, m.top from (select max(number) as top from incidents) m
      cross join generate_series(0, 100) e
      cross join lateral (select id, number from incidents where number <= (m.top - floor(${slicing.firstSlice}::int * power(1.25, e)))::int order by number desc limit 1) b
      where ${slicing.firstSlice}::int * power(1.25, e) < m.top
      order by b.number desc`.execute(db)
  ).rows;
  return { top: Number(rows[0]?.top ?? 0), ends: rows.map((r) => ({ id: r.id, number: Number(r.number) })) };
}

/**
 * The relevance window on PostgreSQL: the newest `window` matching incidents that pass the filters, newest first,
 * with their scores. Asked for all at once, PostgreSQL either walked incidents newest first testing every document
 * (about 14,000 documents of 1 KB for a word in 8% of incidents with a status filter) or read every match in the
 * table. Here the newest `firstSlice` incidents are searched first, then older id ranges sized from the density of
 * matches seen so far, until the window is full (after `maxSlices` ranges, the rest at once): each range is the GIN
 * index's matches ANDed with a range of the primary key, so only the matching rows in it are read. Ranges are id
 * ranges, so together they hold exactly the newest matches whatever their sizes; incident numbers (declaration
 * order, like ids) only size them, through `ends` (a range is at most a quarter larger than it needed to be). The
 * ends are given to PostgreSQL as values, so that it plans each range knowing how large it is.
 */
export async function pgRelevanceWindow(db: PgSearchDb, matches: () => PgMatches, tsq: RawBuilder<unknown>, { top, ends }: WindowEnds, slicing: RelevanceSlicing = RELEVANCE_SLICING): Promise<Ranked[]> {
  const out: Ranked[] = [];
  let upper: { id: string; number: number } | null = null; // the range's upper end (inclusive); null: the newest
  let size = slicing.firstSlice;
  for (let n = 1; out.length < slicing.window; n++) {
    // The range's lower end (exclusive): the first end at least `size` numbers below the upper one; none: the oldest.
    const target: number = (upper?.number ?? top) - size;
    const lower: { id: string; number: number } | undefined = n >= slicing.maxSlices ? undefined : ends.find((e) => e.number <= target);
    let range = matches();
    if (lower) range = range.where('f.incident_id', '>', lower.id);
    if (upper) range = range.where('f.incident_id', '<=', upper.id);
    const rows = await db
      .selectFrom(range.orderBy('f.incident_id', 'desc').limit(slicing.window - out.length).as('x'))
      .select(['x.id', sql<number>`ts_rank(x.document, ${tsq})::float8`.as('score')])
      .execute();
    out.push(...rows.map((r) => ({ id: r.id, score: Number(r.score) })).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)));
    if (!lower) break;
    upper = lower;
    // Next range: sized for the matches still missing at the density seen so far, with a margin (too small costs
    // a round trip more; too large reads matches the window does not need). None seen yet: the rest at once.
    size = out.length === 0 ? Number.MAX_SAFE_INTEGER : Math.ceil(((slicing.window - out.length) * (top - lower.number) * 1.1) / out.length);
  }
  return out.slice(0, slicing.window);
}

type Words = { words: string[]; terms: string[] };
export const tsquery = (s: Words) => s.terms.map((w, i) => `'${w}'${i === s.terms.length - 1 ? ':*' : ''}`).join(' & ');
const ftsMatch = (s: Words) => s.words.map((w, i) => `"${w}"${i === s.words.length - 1 ? '*' : ''}`).join(' ');

/**
 * A derived table `(search_key, score 0)` of the incidents whose document has every word (the last as a prefix): key
 * incidents.number on SQLite (the FTS5 rowid), incidents.id on PostgreSQL; both grow with time. Words hold only
 * letters, digits and marks, so quoting them is enough for both query languages.
 */
export function matchingTable(dialect: DbDialect, search: Words): RawBuilder<{ search_key: string | number; score: number }> {
  // (Fencing this with OFFSET 0 on PostgreSQL, so the GIN index is read once, was measured slower: for a common word
  // it reads every match, where the planner's own plan stops at the window. bench:search, 100,000 incidents.)
  if (dialect === 'postgres') return sql<{ search_key: string; score: number }>`(select s.incident_id as search_key, 0 as score from incident_search s where s.document @@ to_tsquery('simple', ${tsquery(search)}))`;
  return sql<{ search_key: number; score: number }>`(select rowid as search_key, 0 as score from incident_search where incident_search match ${ftsMatch(search)})`;
}

/**
 * SQLite's derived table `(search_key, score)` for the candidate keys given (higher score = better): bm25 with column
 * weights name 10, summary 5, updates 2, notes 2, timeline 1. (PostgreSQL ranks in listIncidents itself: ts_rank over
 * the weighted document, A name, B summary, C updates and notes, D timeline.)
 */
export function scoredTable(search: Words, candidates: Expression<unknown>): RawBuilder<{ search_key: number; score: number }> {
  // FTS5 takes a rowid range with MATCH (one pass over the doclist from the oldest candidate on), whereas `rowid in
  // (…)` re-runs the MATCH for each candidate (seconds at 100,000 incidents). Keys are incident numbers, so the
  // range from the oldest candidate holds every candidate; matches in it that fail the filters drop at the join.
  return sql<{ search_key: number; score: number }>`(select rowid as search_key, -bm25(incident_search, 10.0, 5.0, 2.0, 2.0, 1.0) as score from incident_search where incident_search match ${ftsMatch(search)} and rowid >= (select min(c.search_key) from (${candidates}) c))`;
}

// ---- where each result matched -----------------------------------------------------------------------------

const SNIPPET_WORDS_BEFORE = 6;
const SNIPPET_WORDS = 24;
const ORDER: Record<MatchField, number> = { reference: 0, name: 1, summary: 2, update: 3, note: 4, timeline: 5 };
const TIMELINE_FIELDS = ['text', 'reason', 'message', 'title', 'summary', 'from', 'to'] as const;

interface Candidate {
  field: MatchField;
  text: string;
}

/**
 * For each incident on the page: the part of it that matched best (most of the searched words, then name before
 * summary before updates, notes and the rest of the timeline; the latest item first) and a snippet around the
 * first hit. Reads only the page's incidents' timelines.
 */
export async function matchesFor(db: Executor, incidents: { id: string; name: string; summary: string }[], search: ParsedSearch): Promise<Map<string, SearchMatch>> {
  const out = new Map<string, SearchMatch>();
  if (search.kind === 'reference') {
    for (const i of incidents) out.set(i.id, { field: 'reference', snippet: [{ text: search.reference, hit: true }, { text: ` ${i.name}`, hit: false }] });
    return out;
  }
  if (search.kind !== 'words' || incidents.length === 0) return out;
  const items = await db
    .selectFrom('timeline_items')
    .select(['incident_id', 'kind', 'payload'])
    .where('incident_id', 'in', incidents.map((i) => i.id))
    .where('kind', '!=', 'incident_declared')
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const byIncident = new Map<string, Candidate[]>();
  for (const it of items) {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(it.payload) as Record<string, unknown>;
    } catch {
      continue;
    }
    const list = byIncident.get(it.incident_id) ?? [];
    if (it.kind === 'update_posted') list.push({ field: 'update', text: String(payload.message ?? '') });
    else if (it.kind === 'note_added') list.push({ field: 'note', text: String(payload.text ?? '') });
    else {
      // What a person reads for the item first; what the index holds when that does not show the match.
      list.push({ field: 'timeline', text: timelineText(it.kind, payload) });
      list.push({ field: 'timeline', text: TIMELINE_FIELDS.map((f) => (typeof payload[f] === 'string' ? (payload[f] as string) : '')).filter(Boolean).join(' — ') });
    }
    byIncident.set(it.incident_id, list);
  }
  for (const inc of incidents) {
    const candidates: Candidate[] = [{ field: 'name', text: inc.name }, { field: 'summary', text: inc.summary }, ...(byIncident.get(inc.id) ?? [])];
    let best: { c: Candidate; hits: number } | null = null;
    for (const c of candidates) {
      const hits = distinctHits(c.text, search.words);
      if (hits > 0 && (!best || hits > best.hits || (hits === best.hits && ORDER[c.field] < ORDER[best.c.field]))) best = { c, hits };
    }
    out.set(inc.id, best ? { field: best.c.field, snippet: snippet(best.c.text, search.words) } : { field: 'name', snippet: [{ text: inc.name, hit: false }] });
  }
  return out;
}

function isHit(word: string, words: string[]): boolean {
  const w = fold(word);
  const last = words.length - 1;
  return words.some((q, i) => w === q || (i === last && w.startsWith(q)));
}

function distinctHits(text: string, words: string[]): number {
  const found = new Set<number>();
  const last = words.length - 1;
  for (const m of text.matchAll(WORD)) {
    const w = fold(m[0]);
    words.forEach((q, i) => {
      if (w === q || (i === last && w.startsWith(q))) found.add(i);
    });
  }
  return found.size;
}

/** A window of words around the first hit, as text segments; hits are the whole words that matched. */
export function snippet(text: string, words: string[]): SnippetSegment[] {
  const tokens = [...text.matchAll(WORD)].map((m) => ({ start: m.index, end: m.index + m[0].length, hit: isHit(m[0], words) }));
  const first = Math.max(0, tokens.findIndex((t) => t.hit));
  const from = Math.max(0, first - SNIPPET_WORDS_BEFORE);
  const to = Math.min(tokens.length, from + SNIPPET_WORDS);
  const startChar = from === 0 ? 0 : tokens[from]!.start;
  const endChar = to === tokens.length ? text.length : tokens[to - 1]!.end;
  const segments: SnippetSegment[] = [];
  const push = (t: string, hit: boolean) => {
    if (!t) return;
    const prev = segments[segments.length - 1];
    if (prev && prev.hit === hit) prev.text += t;
    else segments.push({ text: t, hit });
  };
  if (from > 0) push('…', false);
  let at = startChar;
  for (const t of tokens.slice(from, to)) {
    if (!t.hit) continue;
    push(text.slice(at, t.start), false);
    push(text.slice(t.start, t.end), true);
    at = t.end;
  }
  push(text.slice(at, endChar).replace(/\s+$/, ''), false);
  if (to < tokens.length) push('…', false);
  return segments.map((s) => ({ text: s.text.replace(/\s+/g, ' '), hit: s.hit }));
}
