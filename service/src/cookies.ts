/**
 * The one cookie the service uses, parsed and written by hand: a few lines, and no dynamic `import()`
 * (which @fastify/cookie 11 needs for its ESM-only `cookie` dependency, and which jest's CommonJS
 * runtime cannot run).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Attributes of a Set-Cookie header. */
export interface CookieAttributes {
  /** Lifetime in seconds (Max-Age). */
  readonly maxAgeSeconds: number;
  /** Add the Secure attribute. */
  readonly secure: boolean;
}

/** The value of cookie `name` in the request's Cookie header, if present. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

/**
 * Sets cookie `name`: HttpOnly, SameSite=Lax, Path=/, Max-Age, and Secure when asked. `value` must be
 * cookie-safe (the service only writes base64url session IDs).
 */
export function writeCookie(reply: FastifyReply, name: string, value: string, attributes: CookieAttributes): void {
  const parts = [`${name}=${value}`, `Max-Age=${attributes.maxAgeSeconds}`, 'Path=/', 'HttpOnly', 'SameSite=Lax'];
  if (attributes.maxAgeSeconds <= 0) parts.splice(2, 0, 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (attributes.secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}

/** Tells the browser to drop cookie `name`. */
export function clearCookie(reply: FastifyReply, name: string, secure: boolean): void {
  writeCookie(reply, name, '', { maxAgeSeconds: 0, secure });
}
