/**
 * Notes in PostgreSQL: write one (signed in), list the newest, read one.
 */
import type { FastifyInstance } from 'fastify';
import type { NotesRepository } from './db';
import { HttpError } from './errors';
import { requireSession } from './session-routes';
import type { SessionStore } from './sessions';
import { schemas } from './validation';

/** What the note routes need. */
export interface NoteRouteDependencies {
  /** Session store. */
  readonly sessions: SessionStore;
  /** The notes table. */
  readonly notes: NotesRepository;
}

/** Registers the note routes. */
export function registerNoteRoutes(app: FastifyInstance, deps: NoteRouteDependencies): void {
  const { sessions, notes } = deps;

  app.post<{ Body: { text: string } }>('/notes', { schema: { body: schemas.createNote } }, async (request, reply) => {
    const session = await requireSession(request, sessions);
    const note = await notes.create(session.user, request.body.text);
    return reply.code(201).send(note);
  });

  app.get<{ Querystring: { limit: number } }>(
    '/notes',
    { schema: { querystring: schemas.listNotes } },
    async (request) => {
      return { notes: await notes.list(request.query.limit) };
    },
  );

  app.get<{ Params: { id: string } }>('/notes/:id', { schema: { params: schemas.noteId } }, async (request) => {
    const note = await notes.get(Number(request.params.id));
    if (!note) throw new HttpError(404, `note ${request.params.id} not found`);
    return note;
  });
}
