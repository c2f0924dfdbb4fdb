/**
 * JSON schemas of the API's inputs and the messages a client sees when an input fails them.
 */
import type { FastifySchemaValidationError } from 'fastify/types/schema';
import { FILE_NAME_PATTERN, fileNameProblem } from './files';

/** Users: 1-64 characters of letters, digits and . _ @ -. */
export const USER_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';

/** Longest note, in characters. */
export const MAX_NOTE_LENGTH = 10_000;

/** Schemas, shared by the routes. */
export const schemas = {
  signIn: {
    type: 'object',
    required: ['user'],
    additionalProperties: false,
    properties: { user: { type: 'string', pattern: USER_PATTERN } },
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
    properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
  },
  noteId: {
    type: 'object',
    required: ['id'],
    properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } },
  },
  fileName: {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string', pattern: FILE_NAME_PATTERN } },
  },
} as const;

/** Messages by `<context>.<field>`: what the field must be, in the client's terms, given its value. */
const FIELD_MESSAGES: Record<string, (value: unknown) => string> = {
  'body.user': () => 'user must be 1-64 characters of A-Z a-z 0-9 . _ @ -',
  'body.text': () => `text must be a string of 1 to ${MAX_NOTE_LENGTH} characters`,
  'querystring.limit': () => 'limit must be an integer from 1 to 100',
  'params.id': () => 'note id must be a positive integer',
  'params.name': (value) => fileNameProblem(String(value)) ?? 'invalid file name',
};

/**
 * One clear message for a failed schema validation.
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
  const missing = (first.params as { missingProperty?: unknown }).missingProperty;
  const field = typeof missing === 'string' ? missing : first.instancePath.replace(/^\//, '').split('/')[0];
  if (!field) {
    return context === 'body' ? 'request body must be a JSON object' : `${context} ${first.message ?? 'is invalid'}`;
  }
  const describe = FIELD_MESSAGES[`${context}.${field}`];
  if (describe === undefined) return `${context}/${field} ${first.message ?? 'is invalid'}`;
  const value = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[field] : undefined;
  return typeof missing === 'string' ? `${field} is required; ${describe(undefined)}` : describe(value);
}
