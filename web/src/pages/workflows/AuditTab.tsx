// Who created, changed, enabled or disabled the workflow, and when; each change lists the parts that changed
// and opens to the definition before and after.
import { useLoad } from '../../hooks.js';
import { DateTime, Empty, ErrorMessage, Loading } from '../../components/ui.js';
import { workflowsApi, type AuditEntry } from '../../components/workflows/api.js';
import { AUDIT_WORDS, STATE_WORDS } from '../../components/workflows/words.js';

const PART_WORDS: Record<string, string> = {
  key: 'key',
  name: 'name',
  description: 'description',
  state: 'state',
  trigger: 'trigger',
  conditions: 'conditions',
  delay_minutes: 'delay',
  dedupe: 'how often it runs',
  for_each: 'for each',
  test_mode: 'test mode',
  apply_to_existing: 'open incidents too',
  steps: 'steps',
};

/** The parts of the definition that differ between before and after, in words. */
export function changedParts(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string[] {
  if (!before || !after) return [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => k in PART_WORDS && JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null)).map((k) => PART_WORDS[k]!);
}

function what(e: AuditEntry): string {
  const before = e.before as Record<string, unknown> | null;
  const after = e.after as Record<string, unknown> | null;
  if (e.action === 'workflow.state_changed' && after && typeof after.state === 'string') {
    const word = STATE_WORDS[after.state as keyof typeof STATE_WORDS] ?? after.state;
    const from = before && typeof before.state === 'string' ? ` (was ${(STATE_WORDS[before.state as keyof typeof STATE_WORDS] ?? before.state).toLowerCase()})` : '';
    return `Made it ${word.toLowerCase()}${from}${after.apply_to_existing ? ', also on open incidents' : ''}`;
  }
  const parts = changedParts(before, after);
  const base = AUDIT_WORDS[e.action] ?? e.action;
  return parts.length ? `${base}: ${parts.join(', ')}` : base;
}

export function AuditTab({ workflowId }: { workflowId: string }) {
  const entries = useLoad(() => workflowsApi.audit(workflowId), [workflowId]);
  if (!entries.data) return entries.loading ? <Loading label="Loading the audit trail…" /> : <ErrorMessage error={entries.error} title="Could not load the audit trail." />;
  if (entries.data.length === 0) return <Empty title="No changes recorded." />;
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Audit trail">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
          </tr>
        </thead>
        <tbody>
          {entries.data.map((e, i) => (
            <tr key={i} data-testid="audit-entry">
              <td className="nowrap">
                <DateTime value={e.at} />
              </td>
              <td>{e.actor.name ?? e.actor.kind}</td>
              <td>
                {what(e)}
                {e.before || e.after ? (
                  <details>
                    <summary className="small">Before and after</summary>
                    <div className="wf-io">
                      <div>
                        <p className="field-label">Before</p>
                        <pre className="small wf-json">{e.before ? JSON.stringify(e.before, null, 2) : '(nothing)'}</pre>
                      </div>
                      <div>
                        <p className="field-label">After</p>
                        <pre className="small wf-json">{e.after ? JSON.stringify(e.after, null, 2) : '(nothing)'}</pre>
                      </div>
                    </div>
                  </details>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
