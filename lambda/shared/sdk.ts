/**
 * How the functions use the AWS SDK: every client with one retry configuration (the SDK retries; the functions
 * never repeat a call themselves), and every paginated call read through its SDK paginator ({@link allPages},
 * {@link firstItem}, which the operator CLI uses too).
 */

/**
 * Retries of every SDK client the functions create. The SDK retries throttling (`ThrottlingException`,
 * `Throttling`, `TooManyRequestsException`, `RequestLimitExceeded`, HTTP 429, ...) and transient errors (5xx,
 * timeouts, connection resets) itself, with exponential backoff and full jitter; other errors reach the function at
 * once. The plan step's retry interval reruns a failed function, which is safe because every function is idempotent.
 *
 * - `standard`, not `adaptive`: adaptive adds a client-side rate limiter that may also delay a call's first attempt,
 *   so a throttled resource slows every other resource on the same client; AWS recommends it only for a client per
 *   throttled resource and latency-tolerant work. These clients each serve several resources (preflight's load
 *   balancing client asks after every service's target group at once) and every function works against its timeout.
 * - 4 attempts (3 retries): the SDK's throttling backoff is a random share of 1 s, 2 s, then 4 s, so retries add at
 *   most 7 s to a call (without a `Retry-After` hint), less than the 10 s the functions keep free before their
 *   timeout (`TIMEOUT_MARGIN_MS`): a call started before a wait's deadline still returns before the Lambda times
 *   out, and preflight's two chained calls (the stack's outputs, then a check) spend at most 14 s of its 1 minute.
 */
export const SDK_RETRY = { maxAttempts: 4, retryMode: 'standard' } as const;

/** The configuration of an SDK client in `region`: the region and {@link SDK_RETRY}. */
export function clientConfig(region: string): { readonly region: string } & typeof SDK_RETRY {
  return { region, ...SDK_RETRY };
}

/** An SDK exception class, such as `ReplicationNotFound` from `@aws-sdk/client-efs`. */
export type ExceptionClass = abstract new (...args: never[]) => Error;

/**
 * Every item of every page of a call, in order, read through the SDK's paginator (`paginate<Operation>`), so that no
 * result is cut at the first page. With `notFound`, the exception class the service raises when the identifier the
 * call filters by does not exist, that exception means no items.
 */
export async function allPages<P, T>(
  pages: AsyncIterable<P>,
  items: (page: P) => readonly T[] | undefined,
  notFound?: ExceptionClass,
): Promise<T[]> {
  const all: T[] = [];
  try {
    for await (const page of pages) all.push(...(items(page) ?? []));
  } catch (err) {
    if (notFound && err instanceof notFound) return [];
    throw err;
  }
  return all;
}

/**
 * The first item of the pages of a call that `matches`, read through the SDK's paginator page by page until one does
 * (the later pages are not asked for), or undefined when none does. With `notFound`, that exception means none.
 */
export async function firstItem<P, T>(
  pages: AsyncIterable<P>,
  items: (page: P) => readonly T[] | undefined,
  matches: (item: T) => boolean,
  notFound?: ExceptionClass,
): Promise<T | undefined> {
  try {
    for await (const page of pages) {
      const found = (items(page) ?? []).find(matches);
      if (found !== undefined) return found;
    }
  } catch (err) {
    if (notFound && err instanceof notFound) return undefined;
    throw err;
  }
  return undefined;
}
