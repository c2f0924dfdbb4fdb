/**
 * JSON schemas of the API's inputs and the messages a client sees when an input fails them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema';
import { quoteName } from './errors';
import { FILE_NAME_PATTERN, fileNameProblem } from './files';

/** Users: 1-64 characters of letters, digits and . _ @ -. */
export const USER_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';

/** Longest note, in characters. */
export const MAX_NOTE_LENGTH = 10_000;

/** Limits of `GET /notes?limit=`: an integer from 1 to 100, written plainly. */
export const NOTE_LIMIT_PATTERN = '^(100|[1-9][0-9]?)$';

/** Note IDs: a positive integer of at most 15 digits (a safe JavaScript integer), without leading zeros. */
export const NOTE_ID_PATTERN = '^[1-9][0-9]{0,14}$';

/** An object without any field: the query string of a route that takes no parameter, or an empty body. */
const NO_FIELDS = { type: 'object', additionalProperties: false, properties: {} } as const;

/**
 * Schemas, shared by the routes. Every one is strict: the validator (app.ts) neither drops unknown fields nor
 * coerces types, so an unknown field or a wrong type is a 400 that names the field. Query and path parameters are
 * strings with patterns, as they arrive.
 */
export const schemas = {
  /** POST /session and POST /users: a user name and a password (the policy of a new one is checked after NFC). */
  credentials: {
    type: 'object',
    required: ['user', 'password'],
    additionalProperties: false,
    properties: { user: { type: 'string', pattern: USER_PATTERN }, password: { type: 'string', minLength: 1 } },
  },
  createNote: {
    type: 'object',
    required: ['text'],
    additionalProperties: false,
    properties: { text: { type: 'string', minLength: 1, maxLength: MAX_NOTE_LENGTH } },
  },
  listNotes: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'string', pattern: NOTE_LIMIT_PATTERN } },
  },
  noteId: {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern: NOTE_ID_PATTERN } },
  },
  fileName: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string', pattern: FILE_NAME_PATTERN } },
  },
  /** The query string of a route without parameters. */
  noQuery: NO_FIELDS,
  /** The body of a route that takes none: absent, or `{}` (see {@link absentBodyIsEmpty}). */
  noBody: NO_FIELDS,
} as const;

/**
 * preValidation hook of the routes with {@link schemas.noBody}: a request without a body validates as `{}`, so
 * that only a body with fields (or of another type) is refused.
 */
export function absentBodyIsEmpty(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  if (request.body === undefined) request.body = {};
  done();
}

/** Messages by `<context>.<field>`: what the field must be, in the client's terms, given its value. */
const FIELD_MESSAGES: Record<string, (value: unknown) => string> = {
  'body.user': () => 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -',
  'body.password': () => 'password must be a non-empty string',
  'body.text': () => `text must be a string of 1 to ${MAX_NOTE_LENGTH} characters`,
  'querystring.limit': () => 'limit must be an integer from 1 to 100',
  'params.id': () => 'note id must be a positive integer (1 to 15 digits, no leading zero)',
  'params.name': (value) => fileNameProblem(String(value)) ?? 'invalid file name',
};

/** What an unknown field is called in each part of a request. */
const UNKNOWN_FIELD: Record<string, string> = {
  body: 'unknown field',
  querystring: 'unknown query parameter',
  params: 'unknown path parameter',
  headers: 'unknown header',
};

/**
 * One clear message for a failed schema validation, naming the field.
 *
 * @param context which part failed: body, params, querystring or headers
 * @param errors the validator's errors
 * @param input that part of the request, as received
 */
export function validationMessage(
  context: string,
  errors: readonly FastifySchemaValidationError[],
  input: unknown,
): string {
  const first = errors[0];
  if (first === undefined) return `invalid ${context}`;
  const params = first.params as { missingProperty?: unknown; additionalProperty?: unknown };
  const where = first.instancePath.replace(/^\//, '');
  if (typeof params.additionalProperty === 'string') {
    const unknown = `${UNKNOWN_FIELD[context] ?? `unknown ${context} field`} ${quoteName(params.additionalProperty)}`;
    return where ? `${unknown} in ${where}` : unknown;
  }
  const missing = params.missingProperty;
  const field = typeof missing === 'string' ? missing : where.split('/')[0];
  if (!field) {
    return context === 'body' ? 'request body must be a JSON object' : `${context} ${first.message ?? 'is invalid'}`;
  }
  const describe = FIELD_MESSAGES[`${context}.${field}`];
  if (describe === undefined) return `${context}/${field} ${first.message ?? 'is invalid'}`;
  const value = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[field] : undefined;
  return typeof missing === 'string' ? `${field} is required; ${describe(undefined)}` : describe(value);
}
