/**
 * Upload and download of files in the shared directory (signed in).
 */
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import type { ServiceConfig } from './config';
import { HttpError } from './errors';
import type { FileStore } from './files';
import { requireSession } from './session-routes';
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
}

/** Registers the file routes, in their own scope: only they take application/octet-stream bodies. */
export function registerFileRoutes(app: FastifyInstance, deps: FileRouteDependencies): void {
  const { config, sessions, files } = deps;

  app.register(async (scope) => {
    // Bodies are streamed to disk, never buffered; any other content type is refused with 415.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    scope.put<{ Params: { name: string } }>(
      '/files/:name',
      { schema: { params: schemas.fileName } },
      async (request, reply) => {
        const declared = Number(request.headers['content-length']);
        await requireSession(request, sessions);
        if (Number.isFinite(declared) && declared > config.maxUploadBytes) {
          throw new HttpError(413, `file is larger than the upload limit of ${config.maxUploadBytes} bytes`);
        }
        const body = request.body as Readable | undefined;
        const size = await files.save(request.params.name, body, config.maxUploadBytes);
        return reply.code(201).send({ name: request.params.name, size });
      },
    );

    scope.get<{ Params: { name: string } }>(
      '/files/:name',
      { schema: { params: schemas.fileName } },
      async (request, reply) => {
        await requireSession(request, sessions);
        const file = await files.open(request.params.name);
        if (!file) throw new HttpError(404, `file ${request.params.name} not found`);
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-length', file.size);
        return reply.send(file.stream);
      },
    );
  });
}
