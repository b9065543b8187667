import { AppError } from '../../../platform/errors.js';
import { inTransaction, type Db } from '../../../platform/db/index.js';
import type { JobContext, JobQueue, NewJob } from '../../../platform/jobs/types.js';
import { explain } from '../errors.js';
import { SLACK_JOBS, type RespondJob } from '../jobs.js';
import type { SlackContext } from '../slack.context.js';
import type { DeclareInput } from './declare.view.js';

// A declaration from the Slack modal is acknowledged once it is durable, not once the incident is written.
// Slack wants the submission's answer within 3 s, and 50 people declaring at once share one event loop (and, on
// SQLite, one connection): when each ack waited for its incident's transaction, the last ack waited for all 50.
// So the submission handler checks everything a person can fix (the form, their role, the custom field values,
// with the field definitions as they are now), records a `slack.declare` job, and acks; the job creates the
// incident. The job row is committed before the ack, so a process killed after the ack still declares: the job
// runs after restart, and the view id as idempotency key makes one incident however often it runs. A double
// submit adds no second job while the first is pending or running (job key per view), so two jobs never race
// for one incident (on PostgreSQL the loser of such a race would burn an incident number); one submitted after
// the first job finished finds its incident and does nothing.
// Jobs recorded in the same turn of the event loop are written together: one transaction (SQLite) or one
// statement (PostgreSQL) for a burst of submissions instead of one commit each.
// If the incidents service still refuses (a field made required between the check and the job), the person is
// told in a direct message, as when a submission outlives its budget (submissions.ts).

export const DECLARE_JOB = 'slack.declare';

export interface DeclareJob {
  viewId: string;
  slackUserId: string;
  /** The Firebreak user who declares (checked as a writer before the ack). */
  userId: string;
  input: DeclareInput;
  customFieldValues: Record<string, unknown>;
  channelId: string | null;
  responseUrl: string | null;
}

/** Interactive: runs before channel set-up and other background Slack work. */
const DECLARE_PRIORITY = -10;

/** Records declare jobs; those added in one turn of the event loop share one write. */
export class DeclareIntake {
  private pending: { job: NewJob; done: () => void; fail: (err: unknown) => void }[] | null = null;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue,
  ) {}

  /** Resolves once the job is committed. */
  record(job: DeclareJob): Promise<void> {
    return new Promise((done, fail) => {
      if (!this.pending) {
        this.pending = [];
        setImmediate(() => this.flush());
      }
      this.pending.push({ job: { name: DECLARE_JOB, payload: job, opts: { priority: DECLARE_PRIORITY, maxAttempts: 10, jobKey: `slack:declare:${job.viewId}` } }, done, fail });
      if (this.pending.length >= 200) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending ?? [];
    this.pending = null;
    if (!batch.length) return;
    inTransaction(this.db, (tx) => this.jobs.enqueueMany(batch.map((b) => b.job), tx)).then(
      () => {
        for (const b of batch) b.done();
      },
      (err: unknown) => {
        for (const b of batch) b.fail(err);
      },
    );
  }
}

/** The job: creates the incident (once per modal), records who declared from where, confirms where the command was typed. */
export function defineDeclareJob(ctx: SlackContext): void {
  const tell = async (slackUserId: string, text: string) => {
    const api = await ctx.connection.api();
    await api?.dm(slackUserId, text).catch((err: unknown) => ctx.logger.error({ err }, 'could not tell the person their declaration failed'));
  };
  ctx.jobs.define<DeclareJob>(
    DECLARE_JOB,
    async (p: DeclareJob, jctx: JobContext) => {
      await ctx.afterPendingAcks();
      let result;
      try {
        result = await ctx.incidents.createIncident(
          {
            name: p.input.name,
            summary: p.input.summary,
            severityId: p.input.severityId,
            triage: p.input.triage,
            customFieldValues: p.customFieldValues,
            idempotencyKey: `slack:view:${p.viewId}`,
            source: 'slack',
          },
          { kind: 'user', userId: p.userId },
        );
      } catch (err) {
        // Refused (a rule changed since the form was checked): retrying cannot help; the person hears why.
        if (err instanceof AppError) return tell(p.slackUserId, `:warning: Declaring "${p.input.name}" did not work: ${explain(err, ctx.logger).replace(/^:warning: /, '')}`);
        if (jctx.attempt >= jctx.maxAttempts) await tell(p.slackUserId, `:warning: Declaring "${p.input.name}" did not work: ${explain(err, ctx.logger).replace(/^:warning: /, '')}`);
        throw err;
      }
      const { incident, created } = result;
      // Not created on a first run: another submit of the same modal declared it, and that job confirms. On a
      // later run this job may itself have created it before dying: record and confirm (again, at worst).
      if (!created && jctx.attempt === 1) return;
      // The channel job falls back to the incident's creator (this same person) if it runs first.
      await ctx.store.recordDeclaration(incident.id, p.slackUserId, p.channelId);
      // Confirm where the command was typed (through its response_url: the bot need not be in that channel).
      if (p.responseUrl) {
        await ctx.jobs.enqueue(SLACK_JOBS.respond, {
          url: p.responseUrl,
          text: `:white_check_mark: ${incident.reference} is declared. Firebreak is creating its channel and will invite you; follow it in the web app at ${ctx.publicUrl()}/incidents/${incident.reference}.`,
        } satisfies RespondJob);
      }
    },
    { maxAttempts: 10 },
  );
}
