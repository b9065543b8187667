// Workflows in words: triggers, operators, step types, states and run statuses as the pages say them.
import type { ConditionOperator, RunStatus, StepStatus, StepType, Trigger, TriggerType, WorkflowState } from './api.js';

export const TRIGGER_TYPES: readonly { value: TriggerType; label: string }[] = [
  { value: 'incident.declared', label: 'An incident is declared' },
  { value: 'incident.updated', label: 'An incident is updated' },
  { value: 'incident.triage_accepted', label: 'A triage incident is accepted' },
  { value: 'pagerduty.incident_linked', label: 'A PagerDuty incident is linked' },
  { value: 'pagerduty.escalation_target_changed', label: 'A PagerDuty escalation is acknowledged or resolved' },
  { value: 'manual', label: 'Run by hand' },
];

const CHANGE_WORDS: Record<string, string> = { status: 'status', severity: 'severity', lead: 'lead', custom_field: 'a custom field' };

function orList(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** "When an incident's severity or status changes", "When run by hand (with a form)". */
export function triggerWords(t: Trigger, fieldNames: Record<string, string> = {}): string {
  switch (t.type) {
    case 'incident.declared':
      return 'When an incident is declared';
    case 'incident.updated': {
      const changes = t.changes.map((c) => {
        if (c !== 'custom_field' || !t.custom_field_keys?.length) return CHANGE_WORDS[c] ?? c;
        return orList(t.custom_field_keys.map((k) => fieldNames[k] ?? k));
      });
      return `When an incident's ${orList(changes)} changes`;
    }
    case 'incident.triage_accepted':
      return 'When a triage incident is accepted';
    case 'pagerduty.incident_linked':
      return 'When a PagerDuty incident is linked';
    case 'pagerduty.escalation_target_changed':
      return `When a PagerDuty escalation is ${orList(t.statuses)}`;
    case 'manual':
      return t.form?.length ? `Run by hand, with a form of ${t.form.length} field${t.form.length === 1 ? '' : 's'}` : 'Run by hand';
  }
}

export const TRIGGER_SHORT: Record<TriggerType, string> = {
  'incident.declared': 'Incident declared',
  'incident.updated': 'Incident updated',
  'incident.triage_accepted': 'Triage accepted',
  'pagerduty.incident_linked': 'PagerDuty incident linked',
  'pagerduty.escalation_target_changed': 'PagerDuty escalation changed',
  manual: 'Run by hand',
};

export const OPERATOR_WORDS: Record<ConditionOperator, string> = {
  is: 'is',
  is_not: 'is not',
  is_one_of: 'is one of',
  contains: 'contains',
  is_set: 'is set',
  is_not_set: 'is not set',
  at_least: 'is at least',
  at_most: 'is at most',
};

export const STEP_TYPES: readonly { value: StepType; label: string }[] = [
  { value: 'escalate', label: 'Page in PagerDuty' },
  { value: 'slack_message', label: 'Post a Slack message' },
  { value: 'invite', label: 'Invite to the incident channel' },
  { value: 'set_severity', label: 'Set the severity' },
  { value: 'set_lead', label: 'Set the lead' },
  { value: 'set_custom_field', label: 'Set a custom field' },
  { value: 'timeline_note', label: 'Add a timeline note' },
  { value: 'http', label: 'Send an HTTP request' },
];
export const stepTypeLabel = (t: StepType): string => STEP_TYPES.find((s) => s.value === t)?.label ?? t;

export const STATE_WORDS: Record<WorkflowState, string> = { draft: 'Draft', active: 'Active', disabled: 'Disabled' };

export const RUN_STATUS_WORDS: Record<RunStatus | StepStatus, string> = {
  waiting: 'Waiting',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  skipped: 'Skipped',
  pending: 'Pending',
};

export const SKIP_REASON_WORDS: Record<string, string> = {
  trigger_mismatch: 'Its trigger did not match',
  conditions_not_met: 'Its conditions did not hold',
  test_mode: 'It runs only on test incidents',
  deduplicated: 'It already ran for this',
  own_change: 'The change was its own',
  chain_too_deep: 'Too many workflows in a chain',
  evaluation_failed: 'It could not be evaluated',
};

export const AUDIT_WORDS: Record<string, string> = {
  'workflow.created': 'Created',
  'workflow.updated': 'Changed',
  'workflow.state_changed': 'Changed its state',
  'workflow.deleted': 'Deleted',
};

export function durationWords(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
