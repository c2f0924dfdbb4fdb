import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  MissingProgramError,
  scratchDir,
  startAll,
  startPostgres,
  startPostgresStandby,
  startRedis,
  type PostgresStandby,
  type RedisServer,
} from '../../support/local-servers';
import { startBackends } from '../service/helpers';

const ROOT = path.join(__dirname, '..', '..');
const FIXTURE = path.join(__dirname, 'fixtures', 'hold-servers.ts');
const sudo = process.getuid?.() === 0 ? '' : 'sudo ';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-servers-test-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Command lines of the live (not zombie) processes that contain `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (state !== 'Z' && cmdline.includes(text)) found.push(`${pid} ${cmdline}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a missing program', () => {
  test('redis-server: the error names the program and the command that installs it', async () => {
    const start = startRedis({ dir, binary: '/nonexistent/redis-server' });
    await expect(start).rejects.toThrow(MissingProgramError);
    await expect(start).rejects.toThrow(
      `redis-server is not installed: not found at /nonexistent/redis-server. Install it with \`${sudo}apt-get update && ${sudo}apt-get install -y redis-server\``,
    );
  });

  test('PostgreSQL: the error names the program and the command that installs it', async () => {
    const start = startPostgres({ dir, binDir: '/nonexistent' });
    await expect(start).rejects.toThrow(MissingProgramError);
    await expect(start).rejects.toThrow(
      `PostgreSQL's postgres is not installed: not found at /nonexistent/postgres. Install it with \`${sudo}apt-get update && ${sudo}apt-get install -y postgresql\``,
    );
  });

  test('REDIS_SERVER_BIN names where to look; the error says so and how to install', async () => {
    const saved = process.env.REDIS_SERVER_BIN;
    process.env.REDIS_SERVER_BIN = '/nonexistent/redis-server';
    let isolated: typeof import('../../support/local-servers') | undefined;
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        isolated = require('../../support/local-servers');
      });
    } finally {
      if (saved === undefined) delete process.env.REDIS_SERVER_BIN;
      else process.env.REDIS_SERVER_BIN = saved;
    }
    await expect(isolated!.startRedis({ dir })).rejects.toThrow(
      `redis-server is not installed: not found at /nonexistent/redis-server. Install it with \`${sudo}apt-get update && ${sudo}apt-get install -y redis-server\``,
    );
  });
});

describe('a failed start-up leaves no server running', () => {
  test('startAll stops the servers that started when another one fails', async () => {
    const pgDir = path.join(dir, 'pg');
    const started = startAll([
      startPostgres({ dir: pgDir }),
      startRedis({ dir: path.join(dir, 'redis'), binary: '/nonexistent/redis-server' }),
    ]);
    await expect(started).rejects.toThrow('redis-server is not installed');
    expect(processesMentioning(pgDir)).toEqual([]);
  });

  test('startBackends (the service tests) stops PostgreSQL when Redis cannot start, and removes its directory', async () => {
    const root = path.join(dir, 'backends');
    await expect(startBackends({ root, redisBinary: '/nonexistent/redis-server' })).rejects.toThrow(
      `Install it with \`${sudo}apt-get update && ${sudo}apt-get install -y redis-server\``,
    );
    expect(processesMentioning(root)).toEqual([]);
    expect(fs.existsSync(root)).toBe(false);
  });

  test('startAll stops a server that started even when the failing one failed first', async () => {
    let primary: RedisServer | undefined;
    const started = startAll([
      startRedis({ dir: path.join(dir, 'a') }).then((server) => (primary = server)),
      Promise.reject(new Error('boom')),
    ]);
    await expect(started).rejects.toThrow('boom');
    expect(primary).toBeDefined();
    expect(await accepts(primary!.port)).toBe(false);
  });
});

describe('no server outlives the process that started it', () => {
  test.each(['SIGKILL', 'SIGTERM'] as const)(
    'a worker killed with %s leaves no PostgreSQL or Redis server behind',
    async (signal) => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let stdout = '';
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const line = await new Promise<string>((resolve, reject) => {
          child.stdout!.on('data', (chunk: Buffer) => {
            stdout += chunk.toString();
            if (stdout.includes('\n')) resolve(stdout.split('\n')[0]);
          });
          child.on('exit', (code) => reject(new Error(`fixture exited (${code}) before starting: ${stderr}`)));
        });
        const { postgresPort, redisPort } = JSON.parse(line) as { postgresPort: number; redisPort: number };
        // The checks below can see the servers: PostgreSQL's command line names its data directory, Redis's
        // its address.
        expect(processesMentioning(path.join(dir, 'pg'))).toHaveLength(1);
        expect(processesMentioning(`127.0.0.1:${redisPort}`)).toHaveLength(1);
        expect(await accepts(postgresPort)).toBe(true);
        expect(await accepts(redisPort)).toBe(true);

        child.kill(signal);
        const gone = await eventually(
          async () =>
            processesMentioning(path.join(dir, 'pg')).length === 0 &&
            processesMentioning(`127.0.0.1:${redisPort}`).length === 0 &&
            !(await accepts(postgresPort)) &&
            !(await accepts(redisPort)),
          5000,
        );
        expect({ gone, left: [...processesMentioning(dir), ...processesMentioning(`127.0.0.1:${redisPort}`)] }).toEqual(
          {
            gone: true,
            left: [],
          },
        );
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});

describe('startPostgresStandby', () => {
  test('a hot standby: streams the primary, refuses writes (25006), and accepts them once promoted', async () => {
    const root = scratchDir('pg-standby-test-');
    const primary = await startPostgres({ dir: path.join(root, 'primary') });
    let standby: PostgresStandby | undefined;
    try {
      await primary.adminQuery('CREATE TABLE replicated (v text)');
      standby = await startPostgresStandby({ dir: path.join(root, 'standby'), primary });
      await primary.adminQuery("INSERT INTO replicated VALUES ('after the copy')");
      await standby.waitForCatchUp();
      expect(await standby.inRecovery()).toBe(true);
      expect(await standby.adminQuery('SELECT v FROM replicated')).toEqual([{ v: 'after the copy' }]);
      await expect(standby.adminQuery("INSERT INTO replicated VALUES ('x')")).rejects.toMatchObject({ code: '25006' });
      // The application user and password are the primary's.
      const app = new Client({ connectionString: standby.url });
      await app.connect();
      await app.end();
      await standby.promote();
      expect(await standby.inRecovery()).toBe(false);
      await standby.adminQuery("INSERT INTO replicated VALUES ('written after promotion')");
      await standby.restart();
      expect(await standby.adminQuery('SELECT count(*)::int AS n FROM replicated')).toEqual([{ n: 2 }]);
    } finally {
      await standby?.stop();
      await primary.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
