import { z } from 'zod';

// Workflows as people write them (web editor, API, YAML files: one shape, snake_case) and as runs record them.
// See docs/workflows.md. The definition is checked when saved (check.ts): every expression against the current
// schema, every step's targets present; what zod can say (shapes, bounds) is said here.

/** Which incident changes an `incident.updated` trigger listens to. */
export const updateChanges = ['status', 'severity', 'lead', 'custom_field'] as const;
export type UpdateChange = (typeof updateChanges)[number];

export const formFieldSchema = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'a lower-case key: letters, digits and _'),
  label: z.string().min(1).max(100),
  type: z.enum(['text', 'number', 'select']),
  options: z.array(z.string().min(1).max(100)).max(50).optional(),
  required: z.boolean().optional(),
});
export type FormField = z.infer<typeof formFieldSchema>;

export const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('incident.declared') }),
  z.strictObject({
    type: z.literal('incident.updated'),
    /** Any of these changes fires it (at least one). */
    changes: z.array(z.enum(updateChanges)).min(1),
    /** With `custom_field`: only these fields (keys); none listed = any field. */
    custom_field_keys: z.array(z.string()).optional(),
  }),
  z.strictObject({ type: z.literal('incident.triage_accepted') }),
  z.strictObject({ type: z.literal('pagerduty.incident_linked') }),
  z.strictObject({
    type: z.literal('pagerduty.escalation_target_changed'),
    statuses: z.array(z.enum(['acknowledged', 'resolved'])).min(1),
  }),
  z.strictObject({
    type: z.literal('manual'),
    /** A small form shown before a manual run (modal in Slack, dialog on the web); values reach expressions as `inputs.<key>`. */
    form: z.array(formFieldSchema).max(10).optional(),
  }),
]);
export type Trigger = z.infer<typeof triggerSchema>;
export type TriggerType = Trigger['type'];

export const conditionOperators = ['is', 'is_not', 'is_one_of', 'contains', 'is_set', 'is_not_set', 'at_least', 'at_most'] as const;
export type ConditionOperator = (typeof conditionOperators)[number];

/**
 * One condition. Either a subject (an expression naming what is tested, e.g. `incident.severity`,
 * `incident.custom_fields.affected_services`, `incident.custom_fields.affected_services.map(s, s.teams)`), an
 * operator and a value, which becomes one expression (conditions.ts `conditionExpression`) and one sentence
 * (`describeCondition`); or a raw boolean `expression`.
 * Values are literals: strings (a severity, status or option by name, a catalog entry by its Firebreak id or external
 * id, a person by email), numbers, booleans, or a list of those for `is_one_of`. `at_least`/`at_most` take a
 * severity name and compare ranks.
 */
export const conditionSchema = z.union([
  z.strictObject({
    subject: z.string().min(1).max(1000),
    operator: z.enum(conditionOperators),
    value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()])).max(100)]).optional(),
  }),
  z.strictObject({ expression: z.string().min(1).max(4000) }),
]);
export type Condition = z.infer<typeof conditionSchema>;

/** All conditions of a group hold; any group holding is a match. No groups = always matches. */
export const conditionGroupSchema = z.strictObject({ all: z.array(conditionSchema).min(1).max(20) });
export type ConditionGroup = z.infer<typeof conditionGroupSchema>;

/**
 * Text with variables: `{{ expression }}` parts are expressions of the shared language, evaluated and turned into
 * text (catalog entries and people by name, lists joined with ", ").
 */
export const templateSchema = z.string().max(4000);

const stepBase = {
  /** Stable within the workflow (a-z, 0-9, _ and -): names the step in runs and in idempotency keys. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a step id: lower-case letters, digits, _ and -'),
  name: z.string().max(200).optional(),
  continue_on_error: z.boolean().optional(),
};

export const slackDestinationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('incident_channel') }),
  z.strictObject({ kind: z.literal('channel'), channel_id: z.string().min(1).max(40) }),
  /** DM to people: Firebreak user ids, and/or an expression giving people, emails or PagerDuty users. */
  z.strictObject({ kind: z.literal('dm'), user_ids: z.array(z.string()).max(50).optional(), users_expression: z.string().max(4000).optional() }),
]);
export type SlackDestination = z.infer<typeof slackDestinationSchema>;

export const stepSchema = z.discriminatedUnion('type', [
  z.strictObject({
    ...stepBase,
    type: z.literal('escalate'),
    /** PagerDuty escalation policy ids (external ids). */
    policy_ids: z.array(z.string()).max(25).optional(),
    /** PagerDuty user ids. */
    user_ids: z.array(z.string()).max(25).optional(),
    /** Expression giving escalation policies: catalog entries (PagerDutyEscalationPolicy) or PagerDuty ids. */
    policies_expression: z.string().max(4000).optional(),
    /** Expression giving people: catalog entries (PagerDutyUser), emails or PagerDuty ids. */
    users_expression: z.string().max(4000).optional(),
    message: templateSchema,
    urgency: z.enum(['high', 'low']).optional(),
  }),
  z.strictObject({ ...stepBase, type: z.literal('slack_message'), destination: slackDestinationSchema, text: templateSchema.min(1) }),
  z.strictObject({
    ...stepBase,
    type: z.literal('invite'),
    /** Firebreak user ids. */
    user_ids: z.array(z.string()).max(50).optional(),
    users_expression: z.string().max(4000).optional(),
    /** A Slack user group id (S…): its members are invited. */
    slack_usergroup_id: z.string().max(40).optional(),
  }),
  z.strictObject({ ...stepBase, type: z.literal('set_severity'), severity: z.string().min(1).max(200) }),
  z.strictObject({ ...stepBase, type: z.literal('set_lead'), user_id: z.string().optional(), user_expression: z.string().max(4000).optional() }),
  z.strictObject({
    ...stepBase,
    type: z.literal('set_custom_field'),
    field_key: z.string().min(1).max(63),
    /** A raw value as the custom fields API takes it ... */
    value: z.unknown().optional(),
    /** ... or an expression giving it (catalog entries, strings, numbers, lists). */
    value_expression: z.string().max(4000).optional(),
  }),
  z.strictObject({ ...stepBase, type: z.literal('timeline_note'), text: templateSchema.min(1) }),
  z.strictObject({
    ...stepBase,
    type: z.literal('http'),
    method: z.enum(['POST', 'PUT', 'PATCH']),
    url: templateSchema.min(1),
    headers: z.record(z.string(), templateSchema).optional(),
    /** Sent as the request body (JSON text after the variables are filled in). Default: the run as JSON. */
    body: templateSchema.optional(),
  }),
]);
export type Step = z.infer<typeof stepSchema>;
export type StepType = Step['type'];

export const dedupeSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('every_time') }),
  z.strictObject({ mode: z.literal('once_per_incident') }),
  /** Once per incident and value of the expression (e.g. once per severity reached). */
  z.strictObject({ mode: z.literal('once_per_value'), expression: z.string().min(1).max(4000) }),
]);
export type Dedupe = z.infer<typeof dedupeSchema>;

export const workflowStates = ['draft', 'active', 'disabled'] as const;
export type WorkflowState = (typeof workflowStates)[number];

/** The definition: what the editor edits, the API takes and YAML files hold (one shape). */
export const workflowDefinitionSchema = z.strictObject({
  /** Stable, unique among workflows, names the file in `firebreak workflows apply` and `export`. */
  key: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a key: lower-case letters, digits, _ and -'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  state: z.enum(workflowStates).optional(),
  trigger: triggerSchema,
  conditions: z.array(conditionGroupSchema).max(10).optional(),
  /** Wait this long after the trigger, then check the conditions again before the steps (at most 24 h). */
  delay_minutes: z.number().int().min(0).max(1440).optional(),
  dedupe: dedupeSchema.optional(),
  /** Run the steps once per item of this list (at most 25); expressions in steps see `item`. */
  for_each: z.string().min(1).max(4000).optional(),
  /** Runs only on incidents whose mode is test. */
  test_mode: z.boolean().optional(),
  /** When activated: also run on incidents open at that moment (triggers: declared only). */
  apply_to_existing: z.boolean().optional(),
  steps: z.array(stepSchema).min(1).max(20),
});
export type WorkflowDefinition = z.infer<typeof workflowDefinitionSchema>;

/** A stored workflow (API answer). */
export interface Workflow extends WorkflowDefinition {
  id: string;
  state: WorkflowState;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string | null;
  last_run_at: string | null;
  /** Whether an HTTP signing secret exists (the secret itself is shown once, when made or rotated). */
  has_secret: boolean;
}

export const MAX_FOR_EACH = 25;
export const MAX_CHAIN_DEPTH = 3;
export const MAX_DELAY_MINUTES = 1440;

// ---- Runs ----------------------------------------------------------------------------------------------------

export type RunStatus = 'waiting' | 'running' | 'succeeded' | 'failed' | 'skipped';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface ConditionResult {
  group: number;
  index: number;
  expression: string;
  /** The condition in words ("Severity is at least Critical"). */
  words: string;
  /** The subject's value, as JSON (catalog entries as {id, name, type}). */
  value: unknown;
  result: boolean;
  error: string | null;
}

export interface RunError {
  /** Whose message it is. */
  source: 'firebreak' | 'pagerduty' | 'slack' | 'http';
  message: string;
  code?: string | number | null;
  status?: number | null;
}

export interface StepRecord {
  step_id: string;
  index: number;
  /** With for_each: which item (0-based); else null. */
  item_index: number | null;
  type: StepType;
  status: StepStatus;
  /** What the step was to do, resolved (names, not only ids): the same as preview shows. */
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: RunError | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface WorkflowRun {
  id: string;
  workflow_id: string;
  workflow_key: string;
  workflow_name: string;
  workflow_version: number;
  incident_id: string | null;
  incident_reference: string | null;
  trigger: { type: TriggerType; event_id: string | null; actor: { kind: string; name: string | null }; data: Record<string, unknown> };
  /** 0 for a change made by a person or integration; n+1 for a change made by a run of depth n. */
  depth: number;
  status: RunStatus;
  /** The incident as the expressions saw it when the run was matched. */
  incident_snapshot: Record<string, unknown> | null;
  conditions: ConditionResult[];
  /** Why the run stopped without doing its steps (conditions no longer hold after the delay, chain too deep, …). */
  skip_reason: string | null;
  error: RunError | null;
  items: unknown[] | null;
  steps: StepRecord[];
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** Why an active workflow did not run for a trigger (kept per incident). */
export interface SkippedWorkflow {
  workflow_id: string;
  workflow_name: string;
  reason: 'trigger_mismatch' | 'conditions_not_met' | 'test_mode' | 'deduplicated' | 'own_change' | 'chain_too_deep' | 'evaluation_failed';
  message: string;
  conditions: ConditionResult[];
}

export interface WorkflowEvaluation {
  id: string;
  incident_id: string;
  trigger_type: TriggerType;
  event_id: string | null;
  evaluated_at: string;
  skipped: SkippedWorkflow[];
  run_ids: string[];
}
