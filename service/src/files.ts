/**
 * Files in the shared directory (EFS on EC2), each account's in its own directory, `<FILES_DIR>/users/<account
 * id>/<name>` (mode 0750, as FILES_DIR itself; created at the account's first upload): an account reads and writes
 * only there, so another account's file of the same name is neither seen nor touched. An upload goes to a hidden
 * temporary file at the top of FILES_DIR, is fsynced, then renamed over the final name (a rename within one file
 * system is atomic, across directories too): readers on any instance see either the old file or the whole new
 * one, never a partial one. The temporary files stay in one directory, so the sweep of those abandoned reads one
 * directory whatever the number of accounts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { HttpError, isReadOnlyFilesError, mapFilesError, quoteName } from './errors';

/** Names the API accepts: no slash, no leading dot, at most 128 characters. */
export const FILE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

const FILE_NAME_REGEX = new RegExp(FILE_NAME_PATTERN);

/** Prefix of temporary upload files; a leading dot keeps them out of the API's name space. */
const TEMP_PREFIX = '.upload-';

/** The folder of FILES_DIR that holds one directory per account. */
export const USERS_DIR = 'users';

/** Mode of the directories the service creates: that of FILES_DIR (lib/constructs/service-bootstrap.ts). */
const DIRECTORY_MODE = 0o750;

/** An account identity as a directory name: a positive integer (a bigint identity column). */
const OWNER_PATTERN = /^[1-9][0-9]{0,18}$/;

/** The answer to an upload without a byte. */
export const EMPTY_UPLOAD_MESSAGE = 'request body is empty: an upload needs at least 1 byte';

/** Why a file name is refused, or undefined when it is acceptable. */
export function fileNameProblem(name: string): string | undefined {
  if (name.includes('..') || name.includes('/') || name.includes('\\')) {
    return `file name ${quoteName(name)} refused: path traversal ("..", "/") is not allowed`;
  }
  if (!FILE_NAME_REGEX.test(name)) {
    return `file name ${quoteName(name)} refused: use 1-128 characters A-Z a-z 0-9 . _ -, starting with a letter or digit`;
  }
  return undefined;
}

/** What the files check found. */
export interface FilesProbe {
  /**
   * Whether the directory accepts writes: false where the file system is read-only (EROFS: an EFS file system
   * that is a replication destination, the secondary region) or refuses writes (EACCES, EPERM).
   */
  readonly writable: boolean;
  /**
   * Why not writable: the error code of the refused probe write. EROFS is the passive region's replica; EACCES
   * or EPERM in the active region means wrong ownership or permissions of the directory.
   */
  readonly reason?: 'EROFS' | 'EACCES' | 'EPERM';
}

/** An open file to send. */
export interface StoredFile {
  /** Size in bytes. */
  readonly size: number;
  /** Its content. */
  readonly stream: Readable;
}

/** The shared files directory. */
export class FileStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** The directory of an account's files. */
  ownerDir(owner: string): string {
    // Account identities come from the session, never from the client; checked anyway, as they make a path.
    if (!OWNER_PATTERN.test(owner)) throw new Error(`invalid file owner ${JSON.stringify(owner)}`);
    return path.join(this.dir, USERS_DIR, owner);
  }

  private pathOf(owner: string, name: string): string {
    const problem = fileNameProblem(name);
    if (problem) throw new HttpError(400, problem);
    const dir = this.ownerDir(owner);
    const full = path.join(dir, name);
    if (path.dirname(full) !== dir) throw new HttpError(400, `file name "${name}" refused: path traversal`);
    return full;
  }

  /**
   * Writes `source` as `name` of account `owner`, atomically, creating the account's directory at its first
   * upload. Fails with 413 as soon as more than `maxBytes` arrive; the source is then left unread (the caller
   * answers and closes the connection) rather than destroyed, so that the client receives the 413. An empty body
   * is refused (400) and stores nothing.
   *
   * When `signal` fires (the client left, or the upload timed out) before the whole body is read, whatever the
   * stage (before the temporary file is opened, while it opens, while the body is copied), the upload stops with
   * the signal's reason and its temporary file is removed: nothing is stored, and nothing is left behind.
   *
   * @returns the size written
   */
  async save(
    owner: string,
    name: string,
    source: Readable | undefined,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const target = this.pathOf(owner, name);
    const dir = path.dirname(target);
    if (signal?.aborted) throw signal.reason;
    const temp = path.join(this.dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
    let handle: fsp.FileHandle;
    try {
      await this.makeOwnerDir(dir);
      handle = await fsp.open(temp, 'wx', 0o640);
    } catch (err) {
      // Read-only (the secondary region) or unavailable: 503, never a 500.
      throw mapFilesError(err);
    }
    let closed = false;
    let renamed = false;
    try {
      // The client may have left while the file was being opened.
      if (signal?.aborted) throw signal.reason;
      const size = source ? await copyLimited(source, handle, maxBytes, signal) : 0;
      if (size === 0) throw new HttpError(400, EMPTY_UPLOAD_MESSAGE);
      await handle.sync();
      await handle.close();
      closed = true;
      await fsp.rename(temp, target);
      renamed = true;
      await syncDirectory(dir);
      return size;
    } catch (err) {
      throw mapFilesError(err);
    } finally {
      if (!closed) await handle.close().catch(() => undefined);
      if (!renamed) await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /** Opens a file of account `owner` for reading; undefined when it does not exist (there). */
  async open(owner: string, name: string): Promise<StoredFile | undefined> {
    const full = this.pathOf(owner, name);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(full, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw mapFilesError(err, 'read');
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        return undefined;
      }
      return { size: stat.size, stream: handle.createReadStream() };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw mapFilesError(err, 'read');
    }
  }

  /**
   * Deletes temporary upload files (at the top of the directory, every account's alike) older than `maxAgeMs`:
   * those of instances that died mid-upload. Younger ones may belong to uploads in progress on other instances
   * sharing the directory, so they stay. On a read-only file system (the secondary region) nothing can be removed:
   * the sweep stops at the first refusal and returns what it removed so far; the service sweeps again
   * periodically, so it cleans up by itself once the region is promoted.
   *
   * @returns the names removed
   */
  async removeStaleUploads(maxAgeMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fsp.readdir(this.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const full = path.join(this.dir, name);
      try {
        if (now - (await fsp.stat(full)).mtimeMs > maxAgeMs) {
          await fsp.rm(full, { force: true });
          removed.push(name);
        }
      } catch (err) {
        if (isReadOnlyFilesError(err)) break;
        // Otherwise renamed or removed meanwhile by its owner.
      }
    }
    return removed;
  }

  /**
   * The deep health check: the directory must be readable; then a probe file is written, read back and deleted.
   * Where the file system refuses the write (read-only: the EFS replication destination of the secondary
   * region), the check passes with `writable: false`, as the database check does on a replica. Throws when the
   * directory is missing or unreadable, or a write that was accepted reads back wrong.
   */
  async probe(): Promise<FilesProbe> {
    await fsp.access(this.dir, fs.constants.R_OK | fs.constants.X_OK);
    const probe = path.join(this.dir, `.health-${randomBytes(8).toString('hex')}`);
    const content = randomBytes(16);
    try {
      await fsp.writeFile(probe, content, { flag: 'wx' });
    } catch (err) {
      if (isReadOnlyFilesError(err)) return { writable: false, reason: (err as NodeJS.ErrnoException).code as 'EROFS' };
      throw err;
    }
    try {
      const read = await fsp.readFile(probe);
      if (!read.equals(content)) throw new Error('probe file read back differs from what was written');
    } finally {
      await fsp.rm(probe, { force: true });
    }
    return { writable: true };
  }

  /**
   * Creates an account's directory (and `users/`) when missing, with {@link DIRECTORY_MODE}, and makes the new
   * entries durable as the files are. Never creates FILES_DIR itself: a missing one (not mounted) is an error.
   */
  private async makeOwnerDir(dir: string): Promise<void> {
    for (const d of [path.dirname(dir), dir]) {
      try {
        await fsp.mkdir(d, { mode: DIRECTORY_MODE });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      await syncDirectory(path.dirname(d));
    }
  }
}

/** Makes a rename (a new entry) in `dir` durable; some network file systems refuse fsync on a directory, harmlessly. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    await handle.sync();
  } catch {
    // Not supported here; the file itself is already fsynced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Copies a stream into a file handle, pausing the stream while each chunk is written. Fails with the signal's
 * reason when it fires before the end, and at once when the stream was already closed before its end (the client
 * left before the copy began: no event would ever come).
 */
function copyLimited(
  source: Readable,
  handle: fsp.FileHandle,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const aborted = (): unknown =>
      signal?.aborted ? signal.reason : new HttpError(400, 'upload aborted by the client');
    if (signal?.aborted || (source.destroyed && !source.readableEnded)) {
      reject(aborted());
      return;
    }
    let size = 0;
    let settled = false;
    let writing = Promise.resolve();
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve(size);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        source.pause();
        finish(new HttpError(413, `file is larger than the upload limit of ${maxBytes} bytes`));
        return;
      }
      source.pause();
      writing = writing
        .then(() => writeAll(handle, chunk))
        .then(
          () => {
            if (!settled) source.resume();
          },
          (err: unknown) => finish(err),
        );
    };
    const onEnd = (): void => {
      writing.then(() => finish(), finish);
    };
    const onError = (err: Error): void =>
      finish(signal?.aborted ? signal.reason : new HttpError(400, `upload failed: ${err.message}`));
    const onClose = (): void => {
      // 'close' before 'end': the client went away mid-upload.
      if (!source.readableEnded) finish(aborted());
    };
    const onAbort = (): void => {
      source.pause();
      finish(signal!.reason);
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    source.resume();
  });
}

async function writeAll(handle: fsp.FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
