// The one ordered migration list (src/migrations.ts) that start-up, `firebreak migrate` and restore apply. Its
// names are recorded in every existing database, so moving a migration into its module must keep them exactly.
import { describe, expect, it } from 'vitest';
import { migrations } from '../src/migrations.js';
import { coreMigrations } from '../src/platform/db/migrations/index.js';
import { pagerdutyMigrations } from '../src/integrations/pagerduty/migrations/index.js';
import { slackMigrations } from '../src/integrations/slack/migrations/index.js';

describe('the migration list', () => {
  it('has the names existing databases recorded, in the order they were applied', () => {
    expect(Object.keys(migrations)).toEqual([
      '0001_core',
      '0002_jobs',
      '0003_incident_defaults',
      '0004_integration_connections',
      '0005_slack',
      '0006_catalog_pagerduty',
      '0007_pagerduty_budget',
      '0008_escalations',
      '0009_pagerduty_links',
      '0010_webhook_events_pending',
      '0011_custom_fields',
      '0013_live',
      '0014_pagerduty_webhook_health',
      '0016_slack_messages',
      '0017_workflows',
      '0019_slack_workflow_posts',
      '0020_running_incidents',
      '0021_slack_updates',
      '0022_pagerduty_status_updates',
      '0023_write_ups',
      '0024_search',
      '0025_search_filters',
      '0027_responder_requests',
      '0029_pagerduty_all_resolved',
      '0030_pagerduty_accounts',
      '0031_custom_fields_version',
      '0032_search_skip_declaration',
    ]);
  });

  it('takes the Slack and PagerDuty tables from their modules, the rest from the core', () => {
    expect(Object.keys(slackMigrations)).toEqual(['0005_slack', '0016_slack_messages', '0019_slack_workflow_posts', '0021_slack_updates']);
    expect(Object.keys(pagerdutyMigrations)).toEqual(['0007_pagerduty_budget', '0008_escalations', '0009_pagerduty_links', '0010_webhook_events_pending', '0014_pagerduty_webhook_health', '0022_pagerduty_status_updates', '0027_responder_requests', '0029_pagerduty_all_resolved', '0030_pagerduty_accounts']);
    expect(Object.keys(coreMigrations)).toEqual(['0001_core', '0002_jobs', '0003_incident_defaults', '0004_integration_connections', '0006_catalog_pagerduty', '0011_custom_fields', '0013_live', '0017_workflows', '0020_running_incidents', '0023_write_ups', '0024_search', '0025_search_filters', '0031_custom_fields_version', '0032_search_skip_declaration']);
    expect(migrations['0005_slack']).toBe(slackMigrations['0005_slack']);
    expect(migrations['0008_escalations']).toBe(pagerdutyMigrations['0008_escalations']);
  });
});
