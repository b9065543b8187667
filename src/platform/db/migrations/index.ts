import type { Migration } from 'kysely';
import * as m0001 from './0001_core.js';
import * as m0002 from './0002_jobs.js';
import * as m0003 from './0003_incident_defaults.js';
import * as m0004 from './0004_integration_connections.js';
import * as m0005 from './0005_slack.js';
import * as m0006 from './0006_catalog_pagerduty.js';
import * as m0007 from './0007_pagerduty_budget.js';
import * as m0008 from './0008_escalations.js';
import * as m0010 from './0010_webhook_events_pending.js';
import * as m0009 from './0009_pagerduty_links.js';

// Versioned migrations, applied in name order at start and by `firebreak migrate`.
// Add new ones at the end; never edit one that has shipped.
export const migrations: Record<string, Migration> = {
  '0001_core': m0001,
  '0002_jobs': m0002,
  '0003_incident_defaults': m0003,
  '0004_integration_connections': m0004,
  '0005_slack': m0005,
  '0006_catalog_pagerduty': m0006,
  '0007_pagerduty_budget': m0007,
  '0008_escalations': m0008,
  '0009_pagerduty_links': m0009,
  '0010_webhook_events_pending': m0010,
};
