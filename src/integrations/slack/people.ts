import { AppError, ConflictError } from '../../platform/errors.js';
import type { Actor } from '../../platform/events.js';
import { perTurnLoader } from '../../platform/per-turn.js';
import type { User, UsersService } from '../../users/users.service.js';
import { SlackApiError } from './slack.api.js';
import type { SlackConnection } from './slack.connection.js';

// Slack people → Firebreak users. The first time someone interacts, Firebreak reads their Slack profile
// (users.info; needs the users:read.email scope), and links the Firebreak user with the same email (compared
// without case) or creates one with the responder role. Later interactions are one database lookup.

/** Why a Slack person cannot act in Firebreak, said so they can fix it. */
export class SlackPersonError extends AppError {
  constructor(message: string) {
    super(422, 'slack_person_unknown', message);
  }
}

const slackActor: Actor = { kind: 'integration', ref: 'slack' };

export class SlackPeople {
  private readonly inFlight = new Map<string, Promise<User>>();
  /** Lookups asked for in the same turn of the event loop share one statement (50 people submitting at once: one, not 50). */
  private readonly linked = perTurnLoader<string, User | null>(async (ids) => {
    const found = await this.users.findBySlackIds(ids);
    return ids.map((id) => found.get(id) ?? null);
  });

  constructor(
    private readonly users: UsersService,
    private readonly connection: SlackConnection,
  ) {}

  /** Already linked: no Slack call. */
  known(slackUserId: string): Promise<User | null> {
    return this.linked.load(slackUserId);
  }

  /**
   * The Slack user of a Firebreak user: the linked one, else the Slack user with the same email (then linked, so
   * the next time is one lookup), else null (no Slack account, or Slack hides emails).
   */
  async slackIdFor(userId: string | null | undefined): Promise<string | null> {
    if (!userId) return null;
    const user = await this.users.get(userId).catch(() => null);
    if (!user) return null;
    if (user.slackUserId) return user.slackUserId;
    const api = await this.connection.api();
    if (!api) return null;
    let found: string | null;
    try {
      found = await api.lookupByEmail(user.email);
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'missing_scope') return null;
      throw err;
    }
    if (!found) return null;
    await this.users.linkSlackUser(user.id, found, slackActor);
    return found;
  }

  /** The Firebreak user behind a Slack user, linking or creating them on first sight. */
  async resolve(slackUserId: string): Promise<User> {
    const known = await this.known(slackUserId);
    if (known) return known;
    let p = this.inFlight.get(slackUserId);
    if (!p) {
      p = this.link(slackUserId).finally(() => this.inFlight.delete(slackUserId));
      this.inFlight.set(slackUserId, p);
    }
    return p;
  }

  private async link(slackUserId: string): Promise<User> {
    const api = await this.connection.requireApi();
    let info;
    try {
      info = await api.userInfo(slackUserId);
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'user_not_found') throw new SlackPersonError(`Slack does not know the user ${slackUserId}.`);
      throw err;
    }
    if (info.isBot) throw new SlackPersonError('Bots cannot run incidents in Firebreak.');
    if (!info.email) {
      throw new SlackPersonError(
        'Firebreak cannot see your Slack email address, which it uses to match you with your Firebreak account. An admin needs to give the Slack app the users:read.email scope (and reinstall it).',
      );
    }
    const existing = await this.users.findByEmail(info.email);
    if (existing) return this.users.linkSlackUser(existing.id, slackUserId, slackActor);
    try {
      return await this.users.create({ name: info.realName || info.name || info.email, email: info.email, role: 'responder', slackUserId }, slackActor, { kind: 'system', ref: 'slack' });
    } catch (err) {
      // Created by another request in the meantime (same email or same Slack id): use that one.
      if (err instanceof ConflictError || /UNIQUE|unique/.test((err as Error).message)) {
        const again = (await this.users.findBySlackId(slackUserId)) ?? (await this.users.findByEmail(info.email));
        if (again) return again.slackUserId === slackUserId ? again : this.users.linkSlackUser(again.id, slackUserId, slackActor);
      }
      throw err;
    }
  }
}

export function actorFor(user: User): Actor {
  return { kind: 'user', userId: user.id };
}
