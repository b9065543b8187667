import type { Db, Executor } from '../platform/db/index.js';
import type { SecretBox } from '../platform/crypto/secrets.js';
import { nowIso } from '../platform/ids.js';

// Stored integration connections. Secrets are encrypted with the master key, bound to their integration and
// name, and only ever decrypted on the server side for outbound calls; nothing here returns them to callers
// other than secret(), which integrations use to talk to their service.

export interface Connection<S = Record<string, unknown>> {
  kind: string;
  status: 'connected' | 'error';
  settings: S;
  secretNames: string[];
  connectedBy: string | null;
  connectedAt: string;
  updatedAt: string;
}

export class ConnectionsStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async get<S = Record<string, unknown>>(kind: string, db: Executor = this.db): Promise<Connection<S> | null> {
    const row = await db.selectFrom('integration_connections').selectAll().where('kind', '=', kind).executeTakeFirst();
    if (!row) return null;
    return {
      kind: row.kind,
      status: row.status,
      settings: JSON.parse(row.settings) as S,
      secretNames: Object.keys(JSON.parse(row.secrets) as Record<string, string>),
      connectedBy: row.connected_by,
      connectedAt: row.connected_at,
      updatedAt: row.updated_at,
    };
  }

  /** Creates or replaces the connection of `kind`. */
  async save(kind: string, input: { settings: Record<string, unknown>; secrets: Record<string, string>; connectedBy: string | null }, db: Executor = this.db): Promise<void> {
    const now = nowIso();
    const secrets = Object.fromEntries(Object.entries(input.secrets).map(([name, value]) => [name, this.box.encrypt(value, `${kind}.${name}`)]));
    await db
      .insertInto('integration_connections')
      .values({ kind, status: 'connected', settings: JSON.stringify(input.settings), secrets: JSON.stringify(secrets), connected_by: input.connectedBy, connected_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.column('kind').doUpdateSet({ status: 'connected', settings: JSON.stringify(input.settings), secrets: JSON.stringify(secrets), connected_by: input.connectedBy, connected_at: now, updated_at: now }),
      )
      .execute();
  }

  async updateSettings(kind: string, patch: Record<string, unknown>, db: Executor = this.db): Promise<void> {
    const current = await this.get(kind, db);
    if (!current) throw new Error(`${kind} is not connected`);
    await db
      .updateTable('integration_connections')
      .set({ settings: JSON.stringify({ ...current.settings, ...patch }), updated_at: nowIso() })
      .where('kind', '=', kind)
      .execute();
  }

  async setSecret(kind: string, name: string, value: string, db: Executor = this.db): Promise<void> {
    const row = await db.selectFrom('integration_connections').select('secrets').where('kind', '=', kind).executeTakeFirst();
    if (!row) throw new Error(`${kind} is not connected`);
    const secrets = { ...(JSON.parse(row.secrets) as Record<string, string>), [name]: this.box.encrypt(value, `${kind}.${name}`) };
    await db.updateTable('integration_connections').set({ secrets: JSON.stringify(secrets), updated_at: nowIso() }).where('kind', '=', kind).execute();
  }

  async setStatus(kind: string, status: 'connected' | 'error', db: Executor = this.db): Promise<void> {
    await db.updateTable('integration_connections').set({ status, updated_at: nowIso() }).where('kind', '=', kind).execute();
  }

  /** The decrypted secret, for outbound calls only. */
  async secret(kind: string, name: string, db: Executor = this.db): Promise<string | null> {
    const row = await db.selectFrom('integration_connections').select('secrets').where('kind', '=', kind).executeTakeFirst();
    const box = row ? (JSON.parse(row.secrets) as Record<string, string>)[name] : undefined;
    return box ? this.box.decrypt(box, `${kind}.${name}`) : null;
  }

  /** Deletes the connection and its secrets. */
  async delete(kind: string, db: Executor = this.db): Promise<boolean> {
    const r = await db.deleteFrom('integration_connections').where('kind', '=', kind).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
