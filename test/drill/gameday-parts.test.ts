/**
 * The game day's parts that can be checked without running it (`npm run gameday` runs the whole; CI runs it
 * after the drill): the front's HAProxy configuration (accepted by HAProxy itself), the Route 53 timings it
 * derives, the file replication loop, and the timeline picture.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demo } from '../../lib/config/environments';
import { HEALTH_CHECK_INTERVAL_SECONDS } from '../../lib/constructs/failover-dns';
import { frontTimings, renderFrontConfig } from '../../drill/front-door';
import { FileReplication } from '../../drill/gameday-regions';
import { HAPROXY_BIN, TIME_SCALE } from '../../drill/haproxy';
import type { RequestRecord } from '../../drill/load';
import { buckets, regionOf, renderTimeline } from '../../drill/timeline';
import { tempDir } from '../helpers';

const record = (end: number, instanceId: string | undefined, ok = true): RequestRecord => ({
  vu: 1,
  op: 'getSession',
  method: 'GET',
  path: '/session',
  start: end - 5,
  end,
  status: ok ? 200 : 503,
  ok,
  instanceId,
});

describe('the front (Route 53 stand-in)', () => {
  test("timings: the demo environment's Route 53 health check divided by the drill's time scale", () => {
    const t = frontTimings();
    expect(t.checkIntervalMs).toBe((HEALTH_CHECK_INTERVAL_SECONDS * 1000) / TIME_SCALE);
    expect(t.failureThreshold).toBe(demo.dns.healthCheckFailureThreshold);
    expect(t.detectionMs).toBe(t.checkIntervalMs * t.failureThreshold + t.checkTimeoutMs);
  });

  test('configuration: A primary, B backup, both checked on /health/ready over TLS; HAProxy accepts it', () => {
    const dir = tempDir('front-');
    const config = renderFrontConfig(8443, { a: 9443, b: 10443 }, frontTimings(), path.join(dir, 'haproxy.sock'));
    expect(config).toContain('  server a 127.0.0.1:9443 check\n');
    expect(config).toContain('  server b 127.0.0.1:10443 check backup\n');
    expect(config).toContain('http-check send meth GET uri /health/ready');
    expect(config).toContain('http-check connect ssl');
    expect(config).toMatch(/inter 1000ms fall 3 rise 3/);
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, config);
    const check = spawnSync(HAPROXY_BIN, ['-c', '-q', '-f', file], { encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('FileReplication (EFS replication stand-in)', () => {
  test('copies new and changed files, never hidden ones (temporary uploads, probes), and stops', async () => {
    const from = tempDir('repl-from-');
    const to = tempDir('repl-to-');
    fs.writeFileSync(path.join(from, 'a.txt'), 'one');
    fs.writeFileSync(path.join(from, '.upload-123'), 'partial');
    const replication = new FileReplication(from, to, 50);
    expect(await replication.syncOnce()).toBe(1);
    expect(fs.readdirSync(to)).toEqual(['a.txt']);
    expect(await replication.syncOnce()).toBe(0);
    fs.writeFileSync(path.join(from, 'a.txt'), 'changed');
    const later = Date.now() / 1000 + 5;
    fs.utimesSync(path.join(from, 'a.txt'), later, later);
    replication.start();
    const deadline = Date.now() + 3000;
    while (fs.readFileSync(path.join(to, 'a.txt'), 'utf8') !== 'changed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await replication.stop();
    expect(fs.readFileSync(path.join(to, 'a.txt'), 'utf8')).toBe('changed');
    expect(replication.copied).toBe(2);
  });
});

describe('the timeline picture', () => {
  test('regionOf reads the region from the instance ID', () => {
    expect(regionOf(record(1, 'i-a-v1-1'))).toBe('a');
    expect(regionOf(record(1, 'i-b-v1-2'))).toBe('b');
    expect(regionOf(record(1, 'i-v1-1'))).toBeUndefined();
    expect(regionOf(record(1, undefined))).toBeUndefined();
  });

  test('counts answers per second by region, and failures apart', () => {
    const records = [
      record(100, 'i-a-v1-1'),
      record(900, 'i-a-v1-2'),
      record(1500, 'i-b-v1-1'),
      record(1600, undefined, false),
    ];
    expect(buckets(records, 0)).toEqual({ seconds: 2, a: [2, 0], b: [0, 1], refused: [0, 0], errors: [0, 1] });
    const refusal = {
      ...record(500, 'i-b-v1-1', false),
      message: 'database is read-only in this region; writes resume after the region switch',
    };
    expect(buckets([refusal], 0)).toMatchObject({ refused: [1], errors: [0] });
  });

  test('is an SVG with the four series, the marks and escaped labels', () => {
    const svg = renderTimeline(
      [record(100, 'i-a-v1-1'), record(1500, 'i-b-v1-1')],
      0,
      [{ at: 1000, label: 'A & B' }],
      'T',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('A &amp; B');
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });
});
