import { orderedMigrations } from './platform/db/index.js';
import { coreMigrations } from './platform/db/migrations/index.js';
import { pagerdutyMigrations } from './integrations/pagerduty/migrations/index.js';
import { slackMigrations } from './integrations/slack/migrations/index.js';

// Every module's migrations in the one ordered list that start-up, `firebreak migrate` and restore apply. It is
// assembled here, beside the composition root, because the core (platform/db) must not import an integration.
export const migrations = orderedMigrations({ core: coreMigrations, slack: slackMigrations, pagerduty: pagerdutyMigrations });
