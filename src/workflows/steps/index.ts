import { escalateStep } from './escalate.js';
import { httpStep } from './http.js';
import { setCustomFieldStep, setLeadStep, setSeverityStep, timelineNoteStep } from './incident.js';
import { inviteStep, slackMessageStep } from './slack.js';
import type { StepKinds } from './types.js';

export type { ExecuteContext, ResolveContext, Resolved, StepKind } from './types.js';

/** Every step type: resolve (preview and runs) and execute (runs). */
export const stepKinds: StepKinds = {
  escalate: escalateStep,
  slack_message: slackMessageStep,
  invite: inviteStep,
  set_severity: setSeverityStep,
  set_lead: setLeadStep,
  set_custom_field: setCustomFieldStep,
  timeline_note: timelineNoteStep,
  http: httpStep,
};
