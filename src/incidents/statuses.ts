import type { Db, Executor } from '../platform/db/index.js';
import { ConflictError, ValidationError } from '../platform/errors.js';
import type { StatusCategory, StatusRef } from './rules.js';

// Incident statuses: the configured list (from migrations) and how a use case picks one by id or category.
// Which moves between them are allowed is decided in rules.ts; this module only reads and validates.

export interface Status extends StatusRef {
  description: string;
}

export class Statuses {
  private cache: Promise<Status[]> | null = null;

  constructor(private readonly db: Db) {}

  /** Statuses are defined by migrations and never change while running, so they are read once. */
  async list(db: Executor = this.db): Promise<Status[]> {
    this.cache ??= db.selectFrom('incident_statuses').select(['id', 'name', 'description', 'category', 'rank']).orderBy('rank').execute();
    return this.cache;
  }
}

/** The status with this id (and of this category, when given), or a 400 listing the ones that would do. */
export function requireStatus(statuses: Status[], id: string, category?: StatusCategory): Status {
  const s = statuses.find((x) => x.id === id);
  if (!s || (category && s.category !== category)) {
    const options = statuses.filter((x) => !category || x.category === category);
    throw new ValidationError(`Unknown ${category ?? ''} status ${JSON.stringify(id)}.`.replace('  ', ' '), [
      { path: 'status_id', message: `must be one of: ${options.map((x) => x.id).join(', ')}` },
    ]);
  }
  return s;
}

/** The first configured status of a category (statuses are in rank order), or a 409 when there is none. */
export function firstOfCategory(statuses: Status[], category: StatusCategory): Status {
  const s = statuses.find((x) => x.category === category);
  if (!s) throw new ConflictError('no_status', `No ${category} status is configured.`);
  return s;
}
