import { startPagerDutyEmulator, type PagerDutyEmulator, type PagerDutyEmulatorOptions } from '../emulators/pagerduty/index.js';
import { haveSpec, requestViolations, sharedValidator, specDir } from '../emulators/pagerduty/request-check.js';
import type { RequestLogEntry } from '../emulators/pagerduty/types.js';

// The PagerDuty emulator as end-to-end tests start it: every request sent to its REST API (by Firebreak, and by
// the test's own set-up calls) is checked against PagerDuty's official OpenAPI document when the emulator stops,
// so a body or parameter PagerDuty would refuse fails the test file even where the emulator lets it through.
// `/_emulator/...` control requests are never in the request log, so they are never checked. Entries dropped by
// `clearRequestLog()` / `reset()` are checked first. Without ../shared/pagerduty the check is skipped with a
// warning locally and fails in CI (CI=true), like the contract suite.

const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

export class PagerDutyRequestsError extends Error {}

export async function startCheckedPagerDuty(opts: PagerDutyEmulatorOptions = {}): Promise<PagerDutyEmulator & { requestViolations(): Promise<string[]> }> {
  const pd = await startPagerDutyEmulator(opts);
  const earlier: RequestLogEntry[] = [];
  const all = () => [...earlier, ...pd.requestLog()];
  const violations = async (): Promise<string[]> => {
    if (!haveSpec()) {
      if (inCi) throw new PagerDutyRequestsError(`CI: the official PagerDuty spec ${specDir}/rest-api-v2.openapi.json is absent, so the requests sent to PagerDuty cannot be checked`);
      console.warn(`[pagerduty requests] not checked: ${specDir} is absent`);
      return [];
    }
    return requestViolations(await sharedValidator(), all());
  };
  return {
    ...pd,
    clearRequestLog() {
      earlier.push(...pd.requestLog());
      pd.clearRequestLog();
    },
    async reset(seed) {
      earlier.push(...pd.requestLog());
      await pd.reset(seed);
    },
    requestViolations: violations,
    async stop() {
      const found = await violations().finally(() => pd.stop());
      if (found.length) {
        const shown = found.slice(0, 20).join('\n');
        throw new PagerDutyRequestsError(`${found.length} request(s) to PagerDuty break the official OpenAPI document:\n${shown}${found.length > 20 ? `\n… and ${found.length - 20} more` : ''}`);
      }
    },
  };
}
