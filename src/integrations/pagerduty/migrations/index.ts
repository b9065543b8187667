import type { Migrations } from '../../../platform/db/index.js';
import * as m0007 from './0007_pagerduty_budget.js';
import * as m0008 from './0008_escalations.js';
import * as m0009 from './0009_pagerduty_links.js';
import * as m0010 from './0010_webhook_events_pending.js';
import * as m0014 from './0014_pagerduty_webhook_health.js';
import * as m0022 from './0022_pagerduty_status_updates.js';
import * as m0027 from './0027_responder_requests.js';
import * as m0029 from './0029_pagerduty_all_resolved.js';
import * as m0030 from './0030_pagerduty_accounts.js';

// The PagerDuty integration's migrations (request budget, escalations and webhook deliveries, links and
// auto-acknowledgement, auto-create), merged into the one ordered list by src/migrations.ts. Names are what
// databases record as applied: never rename one; a new one takes the next number after every module's last.
export const pagerdutyMigrations: Migrations = {
  '0007_pagerduty_budget': m0007,
  '0008_escalations': m0008,
  '0009_pagerduty_links': m0009,
  '0010_webhook_events_pending': m0010,
  '0014_pagerduty_webhook_health': m0014,
  '0022_pagerduty_status_updates': m0022,
  '0027_responder_requests': m0027,
  '0029_pagerduty_all_resolved': m0029,
  '0030_pagerduty_accounts': m0030,
};
