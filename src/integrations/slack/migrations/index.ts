import type { Migrations } from '../../../platform/db/index.js';
import * as m0005 from './0005_slack.js';
import * as m0016 from './0016_slack_messages.js';
import * as m0019 from './0019_slack_workflow_posts.js';
import * as m0021 from './0021_slack_updates.js';

// The Slack integration's migrations, merged into the one ordered list by src/migrations.ts. Names are what
// databases record as applied: never rename one; a new one takes the next number after every module's last.
export const slackMigrations: Migrations = {
  '0005_slack': m0005,
  '0016_slack_messages': m0016,
  '0019_slack_workflow_posts': m0019,
  '0021_slack_updates': m0021,
};
