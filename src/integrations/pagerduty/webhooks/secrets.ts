import type { SecretBox } from '../../../platform/crypto/secrets.js';
import type { Db, Executor } from '../../../platform/db/index.js';
import { nowIso } from '../../../platform/ids.js';
import { ensureSettingsRow, SETTINGS_ROW } from './tables.js';

// The webhook subscription Firebreak knows about and its signing secrets (encrypted, newest first; two while a
// secret is rotated), plus the last error creating the subscription. Intake checks signatures against these;
// without any, Firebreak refuses deliveries and escalations poll PagerDuty instead.

const SECRET_CONTEXT = 'pagerduty.webhook_secret';
const MAX_SECRETS = 2;

export interface WebhookState {
  subscriptionId: string | null;
  url: string | null;
  secretCount: number;
  error: string | null;
}

export class WebhookSecretStore {
  private cachedSecrets: { at: number; secrets: string[] } | null = null;

  private readonly others = new Map<string, WebhookSecretStore>();

  /** `account`: whose subscription and secrets (the first account's row is `default`; another's is named by its id). */
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    readonly account: string = SETTINGS_ROW,
  ) {}

  /** The store of another account's subscription and secrets. */
  forAccount(account: string): WebhookSecretStore {
    if (account === this.account) return this;
    let s = this.others.get(account);
    if (!s) {
      s = new WebhookSecretStore(this.db, this.box, account);
      this.others.set(account, s);
    }
    return s;
  }

  /** The account whose stored subscription has this id (null when none has). */
  async accountOfSubscription(subscriptionId: string): Promise<string | null> {
    const r = await this.db.selectFrom('pagerduty_escalation_settings').select('id').where('webhook_subscription_id', '=', subscriptionId).executeTakeFirst();
    return r?.id ?? null;
  }

  /** Forgets another account's subscription row (its account was disconnected). */
  async remove(db: Executor = this.db): Promise<void> {
    if (this.account === SETTINGS_ROW) return this.clear(db);
    await db.deleteFrom('pagerduty_escalation_settings').where('id', '=', this.account).execute();
    this.cachedSecrets = null;
  }

  private async row(db: Executor = this.db) {
    return db.selectFrom('pagerduty_escalation_settings').select(['webhook_subscription_id', 'webhook_url', 'webhook_secrets', 'webhook_error']).where('id', '=', this.account).executeTakeFirst();
  }

  async state(db: Executor = this.db): Promise<WebhookState> {
    const r = await this.row(db);
    return { subscriptionId: r?.webhook_subscription_id ?? null, url: r?.webhook_url ?? null, secretCount: r ? (JSON.parse(r.webhook_secrets) as string[]).length : 0, error: r?.webhook_error ?? null };
  }

  /** Adds a signing secret (the newest first); the previous one stays valid until the next one arrives. */
  async addSecret(secret: string, sub: { subscriptionId: string | null; url: string | null }, db: Executor = this.db): Promise<void> {
    await ensureSettingsRow(db, this.account);
    const r = await this.row(db);
    const existing = r ? (JSON.parse(r.webhook_secrets) as string[]) : [];
    const plain = existing.map((b) => this.box.decrypt(b, SECRET_CONTEXT));
    const next = [secret, ...plain.filter((s) => s !== secret)].slice(0, MAX_SECRETS);
    await db
      .updateTable('pagerduty_escalation_settings')
      .set({ webhook_secrets: JSON.stringify(next.map((s) => this.box.encrypt(s, SECRET_CONTEXT))), webhook_subscription_id: sub.subscriptionId, webhook_url: sub.url, webhook_error: null, updated_at: nowIso() })
      .where('id', '=', this.account)
      .execute();
    this.cachedSecrets = null;
  }

  async clear(db: Executor = this.db): Promise<void> {
    await ensureSettingsRow(db, this.account);
    await db.updateTable('pagerduty_escalation_settings').set({ webhook_secrets: '[]', webhook_subscription_id: null, webhook_url: null, updated_at: nowIso() }).where('id', '=', this.account).execute();
    this.cachedSecrets = null;
  }

  async setError(error: string | null): Promise<void> {
    await ensureSettingsRow(this.db, this.account);
    await this.db.updateTable('pagerduty_escalation_settings').set({ webhook_error: error, updated_at: nowIso() }).where('id', '=', this.account).execute();
  }

  /**
   * The signing secrets, decrypted. Cached for a second so webhook intake does not decrypt on every delivery;
   * other processes see a new secret within that second.
   */
  async secrets(): Promise<string[]> {
    const now = Date.now();
    if (this.cachedSecrets && now - this.cachedSecrets.at < 1000) return this.cachedSecrets.secrets;
    const r = await this.row();
    const secrets = r ? (JSON.parse(r.webhook_secrets) as string[]).map((b) => this.box.decrypt(b, SECRET_CONTEXT)) : [];
    this.cachedSecrets = { at: now, secrets };
    return secrets;
  }

  /** Whether PagerDuty can deliver webhooks to Firebreak (otherwise escalations poll). */
  async configured(): Promise<boolean> {
    return (await this.secrets()).length > 0;
  }
}
