/**
 * Notes in PostgreSQL, each the signed-in account's own: write one, list the newest, read one. Every route needs a
 * session; another account's note is a 404 with the same body as a missing one.
 */
import type { FastifyInstance } from 'fastify';
import type { ServiceConfig } from './config';
import type { NotesRepository } from './db';
import { HttpError } from './errors';
import { sessionOf, sessionRequired } from './session-routes';
import type { SessionStore } from './sessions';
import { schemas } from './validation';

/** What the note routes need. */
export interface NoteRouteDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** Session store. */
  readonly sessions: SessionStore;
  /** The notes table. */
  readonly notes: NotesRepository;
}

/** Default of `GET /notes?limit=`. */
export const DEFAULT_NOTE_LIMIT = 50;

/** Registers the note routes. */
export function registerNoteRoutes(app: FastifyInstance, deps: NoteRouteDependencies): void {
  const { config, sessions, notes } = deps;

  app.post<{ Body: { text: string } }>(
    '/notes',
    {
      schema: { querystring: schemas.noQuery, body: schemas.createNote },
      // The session is checked before the body is read, so only a signed-in client gets the larger body limit.
      onRequest: sessionRequired(sessions),
      bodyLimit: config.maxJsonBodyBytes,
    },
    async (request, reply) => {
      const session = sessionOf(request);
      const note = await notes.create(session.userId, session.user, request.body.text);
      return reply.code(201).send(note);
    },
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/notes',
    { schema: { querystring: schemas.listNotes }, onRequest: sessionRequired(sessions) },
    async (request) => {
      const limit = request.query.limit === undefined ? DEFAULT_NOTE_LIMIT : Number(request.query.limit);
      return { notes: await notes.list(sessionOf(request).userId, limit) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/notes/:id',
    { schema: { querystring: schemas.noQuery, params: schemas.noteId }, onRequest: sessionRequired(sessions) },
    async (request) => {
      const note = await notes.get(sessionOf(request).userId, Number(request.params.id));
      if (!note) throw new HttpError(404, `note ${request.params.id} not found`);
      return note;
    },
  );
}
