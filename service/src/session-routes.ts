/**
 * Sign-in, the current session, sign-out and the session counter.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceConfig } from './config';
import { clearCookie, readCookie, writeCookie } from './cookies';
import { HttpError } from './errors';
import { SESSION_COOKIE, SessionStore, type Session } from './sessions';
import { schemas } from './validation';

/** What the session routes need. */
export interface SessionRouteDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** Session store. */
  readonly sessions: SessionStore;
}

/** The session of the request, or undefined when it has no valid session cookie. */
export async function currentSession(request: FastifyRequest, sessions: SessionStore): Promise<Session | undefined> {
  const id = readCookie(request, SESSION_COOKIE);
  if (!SessionStore.isWellFormedId(id)) return undefined;
  return sessions.get(id);
}

/** The session of the request; 401 when there is none. */
export async function requireSession(request: FastifyRequest, sessions: SessionStore): Promise<Session> {
  const session = await currentSession(request, sessions);
  if (!session) throw new HttpError(401, 'not signed in');
  return session;
}

/** Registers the session routes. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDependencies): void {
  const { config, sessions } = deps;

  app.post<{ Body: { user: string } }>('/session', { schema: { body: schemas.signIn } }, async (request, reply) => {
    // Session ID rotation: a sign-in never keeps an ID that existed before it (session fixation).
    const previous = readCookie(request, SESSION_COOKIE);
    if (SessionStore.isWellFormedId(previous)) await sessions.delete(previous);
    const session = await sessions.create(request.body.user);
    writeCookie(reply, SESSION_COOKIE, session.id, {
      maxAgeSeconds: config.sessionTtlSeconds,
      secure: config.cookieSecure,
    });
    return reply.code(201).send({ user: session.user, counter: session.counter });
  });

  app.get('/session', async (request) => {
    const session = await requireSession(request, sessions);
    return { user: session.user, counter: session.counter };
  });

  app.delete('/session', async (request, reply) => {
    const id = readCookie(request, SESSION_COOKIE);
    if (SessionStore.isWellFormedId(id)) await sessions.delete(id);
    clearCookie(reply, SESSION_COOKIE, config.cookieSecure);
    return reply.code(204).send();
  });

  app.post('/session/counter', async (request) => {
    const id = readCookie(request, SESSION_COOKIE);
    const counter = SessionStore.isWellFormedId(id) ? await sessions.increment(id) : undefined;
    if (counter === undefined) throw new HttpError(401, 'not signed in');
    return { counter };
  });
}
