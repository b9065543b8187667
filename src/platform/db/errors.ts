// Recognising database errors the same way on both backends, so a use case can tell "someone else inserted
// this row first" (a race it can resolve) from a real failure without knowing which driver raised it.

/** A unique constraint refused the row: PostgreSQL 23505, or better-sqlite3's UNIQUE constraint error. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}
