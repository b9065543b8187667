import type { Db } from '../platform/db/index.js';
import type { App } from '../platform/http/server.js';
import { CustomFieldsService } from './custom-fields.service.js';
import { registerCustomFieldRoutes } from './routes.js';

export { CustomFieldsService, type FieldInput, type FieldPatch, type ValueChange, type ValueFilter } from './custom-fields.service.js';
export { customFieldTypes, isMany, type CustomField, type CustomFieldOption, type CustomFieldType, type CustomFieldValue, type CustomFieldValueView } from './model.js';
export { customFieldJson, customFieldValueJson, customFieldValueToJson } from './routes.js';

export interface CustomFieldsModule {
  service: CustomFieldsService;
}

/** The custom fields module (a core module like the catalog, whose tables it reads). */
export function createCustomFields(deps: { db: Db }): CustomFieldsModule {
  return { service: new CustomFieldsService(deps.db) };
}

/** The custom fields' REST API (after authentication is registered). */
export function setupCustomFieldRoutes(http: App, customFields: CustomFieldsModule): void {
  registerCustomFieldRoutes(http, { customFields: customFields.service });
}
