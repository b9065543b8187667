import { createRequire } from 'node:module';

// PostgreSQL's driver and graphile-worker are loaded when a PostgreSQL database is opened, not when Firebreak starts
// (together about 0.2 s of CPU and several MB): a Firebreak on SQLite never loads them. Both are CommonJS, so a
// synchronous require keeps the functions that open connections synchronous.
const require = createRequire(import.meta.url);

export const loadPg = (): typeof import('pg') => require('pg');
export const loadGraphileWorker = (): typeof import('graphile-worker') => require('graphile-worker');
