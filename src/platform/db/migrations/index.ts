import type { Migrations } from '../migration-list.js';
import * as m0001 from './0001_core.js';
import * as m0002 from './0002_jobs.js';
import * as m0003 from './0003_incident_defaults.js';
import * as m0004 from './0004_integration_connections.js';
import * as m0006 from './0006_catalog_pagerduty.js';
import * as m0011 from './0011_custom_fields.js';
import * as m0013 from './0013_live.js';
import * as m0017 from './0017_workflows.js';
import * as m0020 from './0020_running_incidents.js';
import * as m0023 from './0023_write_ups.js';
import * as m0024 from './0024_search.js';
import * as m0025 from './0025_search_filters.js';
import * as m0031 from './0031_custom_fields_version.js';
import * as m0032 from './0032_search_skip_declaration.js';

// The core's migrations: people, incidents, timeline, events, audit, settings, the SQLite job tables, integration
// connections, the generic catalog (0006 creates only catalog tables, whatever its name says), incident custom
// fields (0011), the live feed's changes (0013), workflows (0017), running the incident: roles, updates, follow-ups,
// timestamps (0020), post-incident write-ups (0023), full-text search over incidents (0024) and the list's filters
// beside the search documents on PostgreSQL (0025), the custom field definitions' version (0031), the declaration item left out of search's re-indexing (0032). Integrations list
// theirs in their own `migrations/` folder; src/migrations.ts merges every list
// into the one ordered list.
// Names are what databases record as applied: never rename one, never edit one that has shipped.
export const coreMigrations: Migrations = {
  '0001_core': m0001,
  '0002_jobs': m0002,
  '0003_incident_defaults': m0003,
  '0004_integration_connections': m0004,
  '0006_catalog_pagerduty': m0006,
  '0011_custom_fields': m0011,
  '0013_live': m0013,
  '0017_workflows': m0017,
  '0020_running_incidents': m0020,
  '0023_write_ups': m0023,
  '0024_search': m0024,
  '0025_search_filters': m0025,
  '0031_custom_fields_version': m0031,
  '0032_search_skip_declaration': m0032,
};
