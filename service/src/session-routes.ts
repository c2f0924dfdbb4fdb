/**
 * Sign-up, sign-in, the current session, sign-out and the session counter.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RequestTracker } from './access-log';
import type { Accounts } from './accounts';
import type { ServiceConfig } from './config';
import { clearCookie, readCookie, writeCookie } from './cookies';
import { HttpError } from './errors';
import { SESSION_COOKIE, SessionStore, type Session } from './sessions';
import { absentBodyIsEmpty, schemas } from './validation';

/** What the session routes need. */
export interface SessionRouteDependencies {
  /** The configuration. */
  readonly config: ServiceConfig;
  /** Session store. */
  readonly sessions: SessionStore;
  /** Sign-up and sign-in. */
  readonly accounts: Accounts;
  /** The requests' client IPs (the attempt limits are per client IP). */
  readonly tracker: RequestTracker;
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

const signedIn = new WeakMap<FastifyRequest, Session>();

/**
 * The onRequest hook of the routes that need a session: 401 before anything of the body is read, so a client
 * without a session can neither upload nor make the service buffer a JSON body. The handler reads the session
 * with {@link sessionOf}.
 */
export function sessionRequired(sessions: SessionStore): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    signedIn.set(request, await requireSession(request, sessions));
  };
}

/** The session {@link sessionRequired} found for the request. */
export function sessionOf(request: FastifyRequest): Session {
  const session = signedIn.get(request);
  if (session === undefined) throw new Error(`route ${request.url} reads a session without sessionRequired`);
  return session;
}

/** Registers the session routes. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDependencies): void {
  const { config, sessions, accounts, tracker } = deps;
  const noBody = { schema: { querystring: schemas.noQuery, body: schemas.noBody }, preValidation: absentBodyIsEmpty };
  // Open to anyone: the small body limit (also the app's default), stated here as it matters most here.
  const credentials = {
    schema: { querystring: schemas.noQuery, body: schemas.credentials },
    bodyLimit: config.maxPublicBodyBytes,
  };

  app.post<{ Body: { user: string; password: string } }>('/users', credentials, async (request, reply) => {
    const { user, password } = request.body;
    const account = await accounts.signUp(user, password, tracker.clientIp(request));
    return reply.code(201).send({ user: account.name });
  });

  app.post<{ Body: { user: string; password: string } }>('/session', credentials, async (request, reply) => {
    const { user, password } = request.body;
    const account = await accounts.signIn(user, password, tracker.clientIp(request), request.log);
    // Session ID rotation: a sign-in never keeps an ID that existed before it (session fixation).
    const previous = readCookie(request, SESSION_COOKIE);
    if (SessionStore.isWellFormedId(previous)) await sessions.delete(previous);
    const session = await sessions.create(account);
    writeCookie(reply, SESSION_COOKIE, session.id, {
      maxAgeSeconds: config.sessionTtlSeconds,
      secure: config.cookieSecure,
    });
    return reply.code(201).send({ user: session.user, counter: session.counter });
  });

  app.get(
    '/session',
    { schema: { querystring: schemas.noQuery }, onRequest: sessionRequired(sessions) },
    async (request) => {
      const session = sessionOf(request);
      return { user: session.user, counter: session.counter };
    },
  );

  app.delete('/session', noBody, async (request, reply) => {
    const id = readCookie(request, SESSION_COOKIE);
    if (SessionStore.isWellFormedId(id)) await sessions.delete(id);
    clearCookie(reply, SESSION_COOKIE, config.cookieSecure);
    return reply.code(204).send();
  });

  app.post('/session/counter', noBody, async (request) => {
    const id = readCookie(request, SESSION_COOKIE);
    const counter = SessionStore.isWellFormedId(id) ? await sessions.increment(id) : undefined;
    if (counter === undefined) throw new HttpError(401, 'not signed in');
    return { counter };
  });
}
