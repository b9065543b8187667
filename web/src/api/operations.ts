// Type-level names for the generated API types (schema.d.ts): an operation's success answer, its JSON body and its
// query, picked by path and method exactly as the OpenAPI document spells them.
import type { paths } from './schema.js';

export type Path = keyof paths;
export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** The methods the API answers on `P` (the generated types list the others as `never`). */
export type MethodOf<P extends Path> = { [M in Method]: [NonNullable<paths[P][M]>] extends [never] ? never : M }[Method];

type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type Responses<P extends Path, M extends Method> = Operation<P, M> extends { responses: infer R } ? R : never;
type Success<P extends Path, M extends Method> = Extract<keyof Responses<P, M>, 200 | 201 | 202>;

/** The JSON of the operation's success answer (200, 201 or 202); void when it answers 204 with no body. */
export type Ok<P extends Path, M extends Method> = [Success<P, M>] extends [never] ? void : Json<Responses<P, M>[Success<P, M>]>;

/** The JSON body the operation takes (never when it takes none). */
export type Body<P extends Path, M extends Method> = Operation<P, M> extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;

/** The operation's query parameters. */
export type QueryOf<P extends Path, M extends Method> = Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

/** The names in a path's `{…}` segments: '/api/v1/incidents/{id}/pagerduty_incidents/{link_id}' → 'id' | 'link_id'. */
export type PathParam<P extends string> = P extends `${string}{${infer K}}${infer Rest}` ? K | PathParam<Rest> : never;
