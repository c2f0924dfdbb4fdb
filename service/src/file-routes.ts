/**
 * Upload and download of files in the shared directory, each the signed-in account's own (files.ts): another
 * account's file is a 404, and an upload of a name another account has creates the uploader's own file.
 */
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import type { RequestTracker } from './access-log';
import type { ServiceConfig } from './config';
import { HttpError } from './errors';
import { EMPTY_UPLOAD_MESSAGE, type FileStore } from './files';
import { sessionOf, sessionRequired } from './session-routes';
import type { SessionStore } from './sessions';
import { schemas } from './validation';

/** What the file routes need. */
export interface FileRouteDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** Session store. */
  readonly sessions: SessionStore;
  /** Shared directory. */
  readonly files: FileStore;
  /** The requests' signals: an upload stops as soon as its client leaves or it times out. */
  readonly tracker: RequestTracker;
}

/** The content type uploads take. */
export const UPLOAD_CONTENT_TYPE = 'application/octet-stream';

/** Registers the file routes, in their own scope: only they take application/octet-stream bodies. */
export function registerFileRoutes(app: FastifyInstance, deps: FileRouteDependencies): void {
  const { config, sessions, files, tracker } = deps;

  app.register(async (scope) => {
    // Bodies are streamed to disk, never buffered; any other content type is refused with 415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(UPLOAD_CONTENT_TYPE, (_request, payload, done) => done(null, payload));

    scope.put<{ Params: { name: string } }>(
      '/files/:name',
      // The session is checked before anything of the body is read.
      { schema: { querystring: schemas.noQuery, params: schemas.fileName }, onRequest: sessionRequired(sessions) },
      async (request, reply) => {
        // Without a Content-Type and without a body, no parser runs: the type is checked here too.
        if (request.headers['content-type'] === undefined) {
          throw new HttpError(415, `unsupported content type "none": this endpoint takes ${UPLOAD_CONTENT_TYPE}`);
        }
        const declared = request.headers['content-length'];
        if (declared === '0') throw new HttpError(400, EMPTY_UPLOAD_MESSAGE);
        if (Number(declared) > config.maxUploadBytes) {
          throw new HttpError(413, `file is larger than the upload limit of ${config.maxUploadBytes} bytes`);
        }
        const body = request.body as Readable | undefined;
        const owner = sessionOf(request).userId;
        const size = await files.save(owner, request.params.name, body, config.maxUploadBytes, tracker.signal(request));
        return reply.code(201).send({ name: request.params.name, size });
      },
    );

    scope.get<{ Params: { name: string } }>(
      '/files/:name',
      { schema: { querystring: schemas.noQuery, params: schemas.fileName }, onRequest: sessionRequired(sessions) },
      async (request, reply) => {
        const file = await files.open(sessionOf(request).userId, request.params.name);
        if (!file) throw new HttpError(404, `file ${request.params.name} not found`);
        reply.header('content-type', UPLOAD_CONTENT_TYPE);
        reply.header('content-length', file.size);
        return reply.send(file.stream);
      },
    );
  });
}
