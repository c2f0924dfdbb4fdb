/**
 * JSON request bodies: read within the route's body limit (stopping at once when the client leaves or the request
 * times out), then refused unless they are valid UTF-8 JSON whose strings are valid Unicode without NUL: invalid
 * bytes are never turned into U+FFFD, a lone surrogate (`"\ud800"`, which no UTF-8 text can carry) never reaches a
 * store, and neither does U+0000 (PostgreSQL text cannot hold it).
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { HttpError, MAX_QUOTED } from './errors';

/** A UTF-16 code unit that is half of a surrogate pair, alone. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Keys that would reach an object's prototype if the body were ever merged into an object. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

function codeUnit(value: string, pattern: RegExp): string {
  const match = pattern.exec(value)!;
  return `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What is wrong with one string, or undefined. */
function stringProblem(value: string): string | undefined {
  if (LONE_SURROGATE.test(value)) {
    return `is not valid Unicode: it contains a lone surrogate (${codeUnit(value, LONE_SURROGATE)})`;
  }
  if (value.includes('\u0000')) return 'contains the NUL character (U+0000), which is not accepted';
  return undefined;
}

/** Where a value is in the body: its key and its parent's place (a chain, so that pushing a child is O(1)). */
interface Place {
  readonly key: string;
  readonly parent: Place | undefined;
}

/** Longest description of a place in a message. */
const MAX_PLACE_LENGTH = 200;

function describe(place: Place | undefined): string {
  if (place === undefined) return 'request body';
  const keys: string[] = [];
  for (let p: Place | undefined = place; p !== undefined; p = p.parent) keys.push(p.key.slice(0, MAX_QUOTED));
  const text = keys.reverse().join('/');
  return text.length > MAX_PLACE_LENGTH ? `${text.slice(0, MAX_PLACE_LENGTH)}...` : text;
}

/**
 * The first problem of a parsed JSON value, naming where it is (`text`, `items/0/name`): a string or field name
 * with a lone surrogate or a NUL, or a `__proto__` field. Iterative and linear, so a deeply nested body can
 * neither exhaust the stack nor take quadratic time.
 */
export function jsonValueProblem(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; place: Place | undefined }> = [{ value, place: undefined }];
  while (stack.length > 0) {
    const { value: current, place } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem !== undefined) return `${describe(place)} ${problem}`;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        stack.push({ value: current[i], place: { key: String(i), parent: place } });
      }
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (const [key] of entries) {
        const keyProblem = stringProblem(key);
        if (keyProblem !== undefined) return `a field name in ${describe(place)} ${keyProblem}`;
        if (FORBIDDEN_KEYS.has(key)) return `${describe(place)} has the forbidden field "${key}"`;
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        stack.push({ value: item, place: { key, parent: place } });
      }
    }
  }
  return undefined;
}

/**
 * Reads a request body into memory: 413 as soon as it exceeds `limit` bytes, the signal's reason (408, or 499 for
 * a client gone) when it fires first, 400 when the stream fails or closes before its end.
 */
export function readBody(stream: Readable, limit: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    if (stream.destroyed && !stream.readableEnded) {
      reject(new HttpError(400, 'request body not received: the connection closed'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: Error | undefined): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) {
        stream.pause();
        reject(err);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new HttpError(413, `request body is larger than ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (err: Error): void =>
      finish(
        signal?.aborted ? (signal.reason as Error) : new HttpError(400, `request body not received: ${err.message}`),
      );
    const onClose = (): void => {
      if (!stream.readableEnded) onError(new Error('the connection closed'));
    };
    const onAbort = (): void => finish(signal!.reason as Error);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.resume();
  });
}

/** The charset parameter of a Content-Type header, lower-cased, if any. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1]?.toLowerCase();
}

/**
 * Parses a JSON body (the `application/json` content-type parser). Refuses with 415 a charset other than UTF-8,
 * with 413 a body above the route's limit (at once when Content-Length says so), and with 400 an empty body,
 * bytes that are not UTF-8, text that is not JSON, and any value {@link jsonValueProblem} finds.
 */
export async function parseJsonBody(
  request: FastifyRequest,
  payload: Readable,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const charset = charsetOf(request.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, `unsupported charset "${charset.slice(0, 40)}": JSON bodies are UTF-8`);
  }
  const limit = request.routeOptions.bodyLimit;
  if (Number(request.headers['content-length']) > limit) {
    throw new HttpError(413, `request body is larger than ${limit} bytes`);
  }
  const bytes = await readBody(payload, limit, signal);
  if (bytes.length === 0) throw new HttpError(400, 'request body is empty but Content-Type is application/json');
  if (!isUtf8(bytes)) throw new HttpError(400, 'request body is not valid UTF-8');
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
  const problem = jsonValueProblem(value);
  if (problem !== undefined) throw new HttpError(400, problem);
  return value;
}
