import type { Migration } from 'kysely';

// The one ordered list of migrations, put together from every module's own list. Kysely applies migrations in
// name order and refuses to apply one that sorts before a migration a database already has, so the order must
// not depend on which module a migration lives in: every name starts with a four-digit number, numbers are
// unique across all modules, and each module lists its own in that order.

/** Migrations by name; the name is what a database records as applied. */
export type Migrations = Record<string, Migration>;

const NAME = /^(\d{4})_[a-z0-9_]+$/;

/** Merges the modules' lists (keyed by module, for messages) into one list in name order; throws on a clash. */
export function orderedMigrations(byModule: Record<string, Migrations>): Migrations {
  const owner = new Map<string, string>();
  const byNumber = new Map<string, string>();
  for (const [module, list] of Object.entries(byModule)) {
    let previous = '';
    for (const name of Object.keys(list)) {
      const number = NAME.exec(name)?.[1];
      if (!number) throw new Error(`migration ${name} (${module}): a name is a four-digit number, an underscore and lower-case words`);
      if (owner.has(name)) throw new Error(`migration ${name} is listed by both ${owner.get(name)} and ${module}`);
      const clash = byNumber.get(number);
      if (clash) throw new Error(`migrations ${clash} (${owner.get(clash)}) and ${name} (${module}) share the number ${number}; give the newer one the next free number`);
      if (name < previous) throw new Error(`migration ${name} (${module}) is listed after ${previous}; list a module's migrations in order`);
      owner.set(name, module);
      byNumber.set(number, name);
      previous = name;
    }
  }
  const merged: Migrations = {};
  for (const name of [...owner.keys()].sort()) merged[name] = byModule[owner.get(name)!]![name]!;
  return merged;
}
