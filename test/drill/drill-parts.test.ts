/**
 * The drill's parts for two services that can be checked without running it (`npm run drill` and `npm run gameday`
 * run the whole): the routing of staging's listener rules into HAProxy (a backend per service, the catalog's path
 * ACL before the catch-all; accepted by HAProxy itself), each backend's timings from its own service, the
 * environment each service gets by what it uses, the per-service report, both services' access log lines, the
 * post-check's readiness judgement and the passive region's refusals.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { staging } from '../../lib/config/environments';
import type { ServiceDefinition } from '../../lib/config/types';
import { parseAccessLine } from '../../drill/fleet';
import { HAPROXY_BIN, loadBalancerTimings, renderConfig, serviceBackends, TIME_SCALE } from '../../drill/haproxy';
import { itemName, itemVersion, latestItems, type AcknowledgedItem, type RequestRecord } from '../../drill/load';
import { metricsByService, renderTable, result } from '../../drill/report';
import { makeCertificate } from '../../drill/servers';
import {
  CATALOG_SERVICE,
  drillServices,
  instanceId,
  pathPatternCriterion,
  readinessProblem,
  REFERENCE_SERVICE,
  resolvePointer,
  serviceEnvironment,
  serviceNamed,
  serviceOfInstance,
  serviceOfPath,
  serviceRoutes,
} from '../../drill/services';
import { isReadOnlyRefusal } from '../../drill/timeline';
import { tempDir } from '../helpers';

const web = serviceNamed(REFERENCE_SERVICE);
const catalog = serviceNamed(CATALOG_SERVICE);

const record = (over: Partial<RequestRecord> & Pick<RequestRecord, 'end'>): RequestRecord => ({
  vu: 1,
  op: 'getSession',
  method: 'GET',
  path: '/session',
  service: REFERENCE_SERVICE,
  start: over.end - 10,
  status: 200,
  ok: true,
  instanceId: 'i-web-v1-1',
  version: 'v1',
  ...over,
});

/** The HAProxy check of `config` (written with its socket and certificate in `dir`): status and messages. */
function haproxyCheck(dir: string, config: string): { status: number | null; stderr: string } {
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, config);
  const check = spawnSync(HAPROXY_BIN, ['-c', '-q', '-f', file], { encoding: 'utf8' });
  return { status: check.status, stderr: check.stderr };
}

describe('routing: the listener rules as HAProxy ACLs', () => {
  test('an ALB path pattern becomes the criterion that matches the same paths', () => {
    expect(pathPatternCriterion('/*')).toBeUndefined();
    expect(pathPatternCriterion('/api/catalog/*')).toBe('path_beg /api/catalog/');
    expect(pathPatternCriterion('/health')).toBe('path /health');
    // The regular expression is ^/a/.*/b.$, its `$` escaped for the configuration parser.
    expect(pathPatternCriterion('/a/*/b?')).toBe('path_reg ^/a/.*/b.\\$');
    // Characters of ALB path patterns that HAProxy's configuration parser would read as quotes or variables.
    expect(pathPatternCriterion(`/o'k"$/*`)).toBe(`path_beg /o\\'k\\"\\$/`);
  });

  test("staging's services: the catalog's rule first (priority 100), the reference service as the rest", () => {
    expect(serviceRoutes(drillServices())).toEqual([
      { service: CATALOG_SERVICE, criteria: ['path_beg /api/catalog/'] },
      { service: REFERENCE_SERVICE, criteria: [] },
    ]);
  });

  test('a rule with host headers is refused: the drill routes by path only', () => {
    const byHost: ServiceDefinition = { ...catalog, routing: { priority: 100, hostHeaders: ['api.example.com'] } };
    expect(() => serviceRoutes([byHost, web])).toThrow('service "catalog" routes by host header');
  });

  test('which service a request path is for, as the listener rules decide (query string ignored)', () => {
    const services = drillServices();
    expect(serviceOfPath('/api/catalog/items?limit=5', services)).toBe(CATALOG_SERVICE);
    expect(serviceOfPath('/api/catalog/health/ready', services)).toBe(CATALOG_SERVICE);
    expect(serviceOfPath('/api/catalog', services)).toBe(REFERENCE_SERVICE);
    expect(serviceOfPath('/notes/12', services)).toBe(REFERENCE_SERVICE);
    expect(serviceOfPath('/api/catalog/x', [web])).toBe(REFERENCE_SERVICE);
    expect(serviceOfPath('/x', [catalog])).toBeUndefined();
  });
});

describe('the load balancer (ALB stand-in) with two backends', () => {
  test("each backend's timings are its own service's target group settings divided by the time scale", () => {
    const backends = serviceBackends(drillServices(), (name) => (name === REFERENCE_SERVICE ? 6 : 4));
    expect(backends.map((b) => [b.name, b.slots, b.healthCheckPath])).toEqual([
      [CATALOG_SERVICE, 4, catalog.healthCheck.path],
      [REFERENCE_SERVICE, 6, web.healthCheck.path],
    ]);
    const t = backends[0]!.timings;
    expect(t).toEqual(loadBalancerTimings(catalog));
    expect(t.checkIntervalMs).toBe((catalog.healthCheck.intervalSeconds * 1000) / TIME_SCALE);
    expect(t.unhealthyThreshold).toBe(catalog.healthCheck.unhealthyThresholdCount);
    expect(t.healthyThreshold).toBe(catalog.healthCheck.healthyThresholdCount);
    expect(t.drainMs).toBe((catalog.rollout.deregistrationDelaySeconds * 1000) / TIME_SCALE);
    expect(t.detectionMs).toBe(t.checkIntervalMs * t.unhealthyThreshold + t.checkTimeoutMs);
    expect(t.source).toBe(
      `environment "${staging.name}" service "catalog" ALB target group settings, durations divided by 10`,
    );
  });

  test('configuration: the catalog ACL before the catch-all, a backend each with its checks; HAProxy accepts it', async () => {
    const dir = tempDir('lb-');
    const cert = await makeCertificate(dir);
    const backends = serviceBackends(drillServices(), () => 3);
    const config = renderConfig(
      { dir, port: 8443, pemPath: cert.haproxyPemPath, backends },
      path.join(dir, 'haproxy.sock'),
    );
    const lines = config.split('\n');
    const at = (line: string) => lines.indexOf(line);
    expect(at('  acl route_catalog path_beg /api/catalog/')).toBeGreaterThan(at('frontend fe'));
    expect(at('  use_backend catalog if route_catalog')).toBeGreaterThan(
      at('  acl route_catalog path_beg /api/catalog/'),
    );
    expect(at('  default_backend web')).toBeGreaterThan(at('  use_backend catalog if route_catalog'));
    for (const name of ['catalog', 'web']) {
      const section = config.slice(config.indexOf(`\nbackend ${name}\n`)).split('\n\n')[0]!;
      expect(section).toContain('  http-check send meth GET uri /health\n');
      expect(section).toContain('  timeout check 500ms\n');
      expect(section).toContain('  default-server inter 1000ms fall 2 rise 2\n');
      expect(section.match(/^ {2}server srv\d /gm)).toHaveLength(3);
    }
    expect(config).not.toContain('http-request return status 404');
    expect(haproxyCheck(dir, config)).toEqual({ status: 0, stderr: '' });
  });

  test('without a catch-all, what no rule matches is a 404, as the listener default action answers', async () => {
    const dir = tempDir('lb-');
    const cert = await makeCertificate(dir);
    // Three patterns (ORed), one a regular expression and one with characters the parser must read literally.
    const patterns = ['/api/catalog/*', `/o'k"$/*`, '/a/*/b?'];
    const wide: ServiceDefinition = { ...catalog, routing: { priority: 100, pathPatterns: patterns } };
    const config = renderConfig(
      { dir, port: 8443, pemPath: cert.haproxyPemPath, backends: serviceBackends([wide], () => 2) },
      path.join(dir, 'haproxy.sock'),
    );
    expect(config.match(/^ {2}acl route_catalog .*$/gm)).toEqual(
      patterns.map((p) => `  acl route_catalog ${pathPatternCriterion(p)}`),
    );
    expect(config).toContain(
      `  http-request return status 404 content-type application/json string '{"error":"not found"}' unless route_catalog\n`,
    );
    expect(config).not.toContain('default_backend');
    expect(haproxyCheck(dir, config)).toEqual({ status: 0, stderr: '' });
  });

  test('two catch-all backends are refused', () => {
    const backends = serviceBackends([web, { ...catalog, routing: { priority: 100, pathPatterns: ['/*'] } }], () => 1);
    expect(() => renderConfig({ dir: '/x', port: 1, pemPath: '/x.pem', backends }, '/x.sock')).toThrow(
      'more than one catch-all backend: catalog, web',
    );
  });
});

describe("the services' instances", () => {
  test('environment: what the boot script writes for the components each service uses', () => {
    const stores = {
      database: {
        writerHost: '127.0.0.2',
        readerHost: '127.0.0.1',
        port: 5500,
        name: 'app',
        logins: {
          catalog: { user: 'svc_catalog', passwordFile: '/run/catalog.password' },
          web: { user: 'svc_web', passwordFile: '/run/web.password' },
        },
      },
      cache: { host: '127.0.0.1', port: 6400, password: 'r' },
      filesDir: '/tmp/files',
    };
    const catalogEnv = serviceEnvironment(catalog, stores);
    expect(catalogEnv).toMatchObject({
      SERVICE_NAME: 'catalog',
      TRUSTED_PROXY_HOPS: '1',
      DATABASE_HOST: '127.0.0.2',
      DATABASE_READER_HOST: '127.0.0.1',
      DATABASE_PORT: '5500',
      DATABASE_USER: 'svc_catalog',
      DATABASE_PASSWORD_FILE: '/run/catalog.password',
      DATABASE_SSL: 'false',
    });
    expect(catalogEnv).not.toHaveProperty('DATABASE_PASSWORD');
    expect(Object.keys(catalogEnv).filter((k) => k.startsWith('REDIS_') || k === 'FILES_DIR')).toEqual([]);
    expect(serviceEnvironment(web, stores)).toMatchObject({
      DATABASE_HOST: '127.0.0.2',
      REDIS_PORT: '6400',
      FILES_DIR: '/tmp/files',
    });
    const oneEndpoint = serviceEnvironment(catalog, { database: { ...stores.database, readerHost: undefined } });
    expect(oneEndpoint.DATABASE_HOST).toBe('127.0.0.2');
    expect(oneEndpoint).not.toHaveProperty('DATABASE_READER_HOST');
    expect(() => serviceEnvironment(web, { database: stores.database })).toThrow(
      'service "web" uses the session cache, which the drill did not give',
    );
    expect(() => serviceEnvironment(web, { ...stores, database: { ...stores.database, logins: {} } })).toThrow(
      'service "web" uses a database role, which the drill did not give',
    );
  });

  test('instance IDs name the region, the service and the version', () => {
    expect(instanceId({ service: 'web', version: 'v2', n: 4 })).toBe('i-web-v2-4');
    const id = instanceId({ region: 'b', service: 'catalog', version: 'v1', n: 2 });
    expect(id).toBe('i-b-catalog-v1-2');
    expect(serviceOfInstance(id, ['web', 'catalog'])).toBe('catalog');
    expect(serviceOfInstance('i-a-web-v1-1', ['web', 'catalog'])).toBe('web');
    expect(serviceOfInstance('i-v1-1', ['web', 'catalog'])).toBeUndefined();
  });

  test("access log lines of both services: the reference service's and the catalog's (pino)", () => {
    const instance = { id: 'i-catalog-v1-1', version: 'v1', service: 'catalog' };
    const catalogLine = JSON.stringify({
      level: 30,
      reqId: 'req-1',
      clientIp: '127.0.0.1',
      method: 'GET',
      url: '/api/catalog/items/x',
      status: 404,
      ms: 2,
      msg: 'access',
    });
    expect(parseAccessLine(catalogLine, instance)).toMatchObject({
      clientIp: '127.0.0.1',
      path: '/api/catalog/items/x',
      status: 404,
      latencyMs: 2,
      instanceId: 'i-catalog-v1-1',
      version: 'v1',
      service: 'catalog',
    });
    const webLine = JSON.stringify({
      msg: 'request',
      method: 'GET',
      path: '/files/x',
      status: 404,
      latencyMs: 1,
      instanceId: 'i-web-v2-5',
      version: 'v2',
    });
    expect(parseAccessLine(webLine, { ...instance, service: 'web' })).toMatchObject({
      clientIp: undefined,
      path: '/files/x',
      instanceId: 'i-web-v2-5',
      version: 'v2',
      service: 'web',
    });
    expect(parseAccessLine(JSON.stringify({ msg: 'schema applied' }), instance)).toBeUndefined();
    expect(parseAccessLine('not json', instance)).toBeUndefined();
  });
});

describe('the report per service', () => {
  const records = [
    record({ end: 100 }),
    record({ end: 300, ok: false, status: 503 }),
    record({ end: 500, service: CATALOG_SERVICE, path: '/api/catalog/items', op: 'listItems' }),
    record({ end: 600, service: undefined, path: '/nowhere' }),
  ];

  test('counts requests and errors per service, zeros for a service without requests', () => {
    const byService = metricsByService(records, 0, 1000, ['web', 'catalog', 'other']);
    expect(Object.keys(byService)).toEqual(['web', 'catalog', 'other', 'none']);
    expect(byService.web).toMatchObject({ requests: 2, errors: 1, errorWindowMs: 10, rps: 2 });
    expect(byService.catalog).toMatchObject({ requests: 1, errors: 0, errorWindowMs: 0 });
    expect(byService.other).toMatchObject({ requests: 0, errors: 0, p99Ms: 0 });
    expect(byService.none).toMatchObject({ requests: 1 });
  });

  test('the table has a requests/errors column per service and the duration', () => {
    const m = { requests: 3, errors: 1, errorWindowMs: 10, p50Ms: 1, p99Ms: 2, rps: 3, durationMs: 1500 };
    const services = metricsByService(records.slice(0, 3), 0, 1500, ['web', 'catalog']);
    const table = renderTable([result('steady', 'title', [], ['ok'], m, {}, [], services)]);
    const [head, , row] = table.split('\n');
    expect(head).toMatch(/^scenario {2}requests {2}errors {2}web req\/err {2}catalog req\/err {2}error window ms/);
    expect(head).toMatch(/duration s {2}verdict$/);
    expect(row).toMatch(/^steady +3 +1 +2\/1 +1\/0 +10 +1 +2 +3 +1\.5 {2}PASS$/);
  });
});

describe('the catalog checks', () => {
  test('item versions: each PUT names its version; the latest acknowledged one per SKU', () => {
    expect(itemVersion(itemName('cu1-abc-3', 12))).toBe(12);
    expect(itemVersion('no version')).toBeUndefined();
    const ack = (sku: string, version: number): AcknowledgedItem => ({
      sku,
      version,
      name: itemName(sku, version),
      vu: 11,
      at: version,
    });
    const latest = latestItems([ack('a', 1), ack('a', 3), ack('b', 1), ack('a', 2)]);
    expect([...latest].map(([sku, a]) => [sku, a.version])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });

  test("readiness: the post-check's judgement, 200 and the writable pointer's value", () => {
    const body = { ready: true, draining: false, database: { readable: true, writable: true } };
    expect(resolvePointer(body, '/database/writable')).toEqual({ found: true, value: true });
    expect(resolvePointer(body, '/database/missing')).toEqual({ found: false });
    expect(resolvePointer({ 'a/b': { '~': 1 } }, '/a~1b/~0')).toEqual({ found: true, value: 1 });
    expect(readinessProblem(catalog, { status: 200, body }, true)).toBeUndefined();
    expect(readinessProblem(catalog, { status: 200, body }, false)).toBe(
      `catalog /api/catalog/health/ready: 200 ${JSON.stringify(body)} (expected /database/writable false)`,
    );
    expect(readinessProblem(catalog, { status: 503, body: {} }, true)).toBe(
      'catalog /api/catalog/health/ready: 503 {} (expected 200)',
    );
  });

  test("a passive region's catalog write refusals: read-only, or unavailable on a write only", () => {
    const put = { end: 1, op: 'putItem' as const, service: CATALOG_SERVICE, status: 503, ok: false };
    expect(
      isReadOnlyRefusal(
        record({ ...put, message: 'the catalog is read-only in this region; writes resume after the region switch' }),
      ),
    ).toBe(true);
    const unavailable = 'the catalog database is unavailable; try again shortly';
    expect(isReadOnlyRefusal(record({ ...put, message: unavailable }))).toBe(true);
    expect(isReadOnlyRefusal(record({ ...put, op: 'getItem', message: unavailable }))).toBe(false);
    expect(isReadOnlyRefusal(record({ ...put, service: REFERENCE_SERVICE, message: unavailable }))).toBe(false);
  });
});
