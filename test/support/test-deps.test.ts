import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'test-deps.sh');
const sudo = process.getuid?.() === 0 ? '' : 'sudo ';

/** Runs scripts/test-deps.sh with extra environment variables; installing is never allowed here. */
function testDeps(env: Record<string, string> = {}) {
  const result = spawnSync('bash', [SCRIPT], {
    env: { ...process.env, TEST_DEPS_INSTALL: '0', ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('passes silently when PostgreSQL and Redis are installed', () => {
  expect(testDeps()).toMatchObject({ status: 0, stdout: '', stderr: '' });
});

test('a missing redis-server fails at once, naming it and what to do', () => {
  const result = testDeps({ REDIS_SERVER_BIN: '/nonexistent/redis-server' });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('redis-server is not at REDIS_SERVER_BIN=/nonexistent/redis-server');
});

test('missing PostgreSQL programs fail at once, naming them and what to do', () => {
  const result = testDeps({ POSTGRES_BIN_DIR: '/nonexistent' });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("PostgreSQL's initdb and postgres are not both in POSTGRES_BIN_DIR=/nonexistent");
});

/**
 * A copy of the script whose fixed places (/usr/lib/postgresql/<major>/bin, /usr/bin/redis-server) are under an
 * empty folder, run with a PATH that has every program of this PATH but redis-server, initdb and postgres: the
 * machine as a fresh one without them looks to the script.
 */
function testDepsWithoutServers() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'test-deps-'));
  try {
    const script = path.join(root, 'test-deps.sh');
    fs.writeFileSync(
      script,
      fs
        .readFileSync(SCRIPT, 'utf8')
        .replaceAll('/usr/lib/postgresql/', `${root}/usr/lib/postgresql/`)
        .replaceAll('/usr/bin/redis-server', `${root}/usr/bin/redis-server`),
    );
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const hidden = new Set(['redis-server', 'initdb', 'postgres']);
    for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d && fs.existsSync(d))) {
      for (const name of fs.readdirSync(dir)) {
        const target = path.join(bin, name);
        if (!hidden.has(name) && !fs.existsSync(target)) fs.symlinkSync(path.join(dir, name), target);
      }
    }
    const env: NodeJS.ProcessEnv = { ...process.env, TEST_DEPS_INSTALL: '0', PATH: bin };
    delete env.POSTGRES_BIN_DIR;
    delete env.REDIS_SERVER_BIN;
    return spawnSync('/bin/bash', [script], { env, encoding: 'utf8', timeout: 10_000 });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('programs missing from their usual places: names each and the command that installs them', () => {
  const result = testDepsWithoutServers();
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('PostgreSQL server programs initdb and postgres (package postgresql)');
  expect(result.stderr).toContain('redis-server (package redis-server)');
  expect(result.stderr).toContain(`  ${sudo}apt-get update && ${sudo}apt-get install -y postgresql redis-server\n`);
  expect(result.stderr).toContain('npm run drill:deps');
});
