import type { SecretBox } from '../../../platform/crypto/secrets.js';
import type { Db, Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import './tables.js';

// Escalation settings: the fallback escalation service, whether to always page as the bot account, and the
// webhook subscription with its signing secrets (encrypted, newest first; two while a secret is rotated).

const ROW = 'default';
const SECRET_CONTEXT = 'pagerduty.webhook_secret';
const MAX_SECRETS = 2;

export interface EscalationSettings {
  fallbackService: { id: string; name: string } | null;
  alwaysUseBot: boolean;
  webhook: { subscriptionId: string | null; url: string | null; secretCount: number; error: string | null };
}

export class EscalationSettingsStore {
  private cachedSecrets: { at: number; secrets: string[] } | null = null;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  private async row(db: Executor = this.db) {
    return db.selectFrom('pagerduty_escalation_settings').selectAll().where('id', '=', ROW).executeTakeFirst();
  }

  private async ensure(db: Executor = this.db): Promise<void> {
    await db
      .insertInto('pagerduty_escalation_settings')
      .values({ id: ROW, fallback_service_id: null, fallback_service_name: null, always_use_bot: 0, webhook_subscription_id: null, webhook_url: null, webhook_secrets: '[]', webhook_error: null, updated_at: nowIso() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async get(db: Executor = this.db): Promise<EscalationSettings> {
    const r = await this.row(db);
    return {
      fallbackService: r?.fallback_service_id ? { id: r.fallback_service_id, name: r.fallback_service_name ?? r.fallback_service_id } : null,
      alwaysUseBot: Number(r?.always_use_bot ?? 0) === 1,
      webhook: { subscriptionId: r?.webhook_subscription_id ?? null, url: r?.webhook_url ?? null, secretCount: r ? (JSON.parse(r.webhook_secrets) as string[]).length : 0, error: r?.webhook_error ?? null },
    };
  }

  async update(patch: { fallbackService?: { id: string; name: string } | null; alwaysUseBot?: boolean }, db: Executor = this.db): Promise<void> {
    await this.ensure(db);
    const set: Record<string, unknown> = { updated_at: nowIso() };
    if (patch.fallbackService !== undefined) {
      set.fallback_service_id = patch.fallbackService?.id ?? null;
      set.fallback_service_name = patch.fallbackService?.name ?? null;
    }
    if (patch.alwaysUseBot !== undefined) set.always_use_bot = patch.alwaysUseBot ? 1 : 0;
    await db.updateTable('pagerduty_escalation_settings').set(set).where('id', '=', ROW).execute();
  }

  /** Adds a signing secret (the newest first); the previous one stays valid until the next one arrives. */
  async addWebhookSecret(secret: string, sub: { subscriptionId: string | null; url: string | null }, db: Executor = this.db): Promise<void> {
    await this.ensure(db);
    const r = await this.row(db);
    const existing = r ? (JSON.parse(r.webhook_secrets) as string[]) : [];
    const plain = existing.map((b) => this.box.decrypt(b, SECRET_CONTEXT));
    const next = [secret, ...plain.filter((s) => s !== secret)].slice(0, MAX_SECRETS);
    await db
      .updateTable('pagerduty_escalation_settings')
      .set({ webhook_secrets: JSON.stringify(next.map((s) => this.box.encrypt(s, SECRET_CONTEXT))), webhook_subscription_id: sub.subscriptionId, webhook_url: sub.url, webhook_error: null, updated_at: nowIso() })
      .where('id', '=', ROW)
      .execute();
    this.cachedSecrets = null;
  }

  async clearWebhook(db: Executor = this.db): Promise<void> {
    await this.ensure(db);
    await db.updateTable('pagerduty_escalation_settings').set({ webhook_secrets: '[]', webhook_subscription_id: null, webhook_url: null, updated_at: nowIso() }).where('id', '=', ROW).execute();
    this.cachedSecrets = null;
  }

  async setWebhookError(error: string | null): Promise<void> {
    await this.ensure();
    await this.db.updateTable('pagerduty_escalation_settings').set({ webhook_error: error, updated_at: nowIso() }).where('id', '=', ROW).execute();
  }

  /**
   * The signing secrets, decrypted. Cached for a second so webhook intake does not decrypt on every delivery;
   * other processes see a new secret within that second.
   */
  async webhookSecrets(): Promise<string[]> {
    const now = Date.now();
    if (this.cachedSecrets && now - this.cachedSecrets.at < 1000) return this.cachedSecrets.secrets;
    const r = await this.row();
    const secrets = r ? (JSON.parse(r.webhook_secrets) as string[]).map((b) => this.box.decrypt(b, SECRET_CONTEXT)) : [];
    this.cachedSecrets = { at: now, secrets };
    return secrets;
  }

  async webhooksConfigured(): Promise<boolean> {
    return (await this.webhookSecrets()).length > 0;
  }
}
