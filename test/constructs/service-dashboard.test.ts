import { Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { ReplicationWatch } from '../../lib/constructs/region-alarms';
import {
  alarmTitle,
  EnvironmentDashboard,
  EnvironmentDashboardProps,
  RegionDashboard,
} from '../../lib/constructs/service-dashboard';
import { regionAlarmName, RegionAlarmRef, SERVICE_ALARM_IDS } from '../../lib/names';
import { bareStack, templateOf, TEST_ACCOUNT } from '../harness';
import { withConfig } from '../helpers';

/** The dashboard body of a template, as text. */
const bodyOf = (t: Template) => {
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  return JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
};

/** One widget of a dashboard body, the parts these tests read. */
interface Widget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly properties: {
    readonly title?: string;
    readonly region?: string;
    readonly metrics?: unknown[];
    readonly alarms?: string[];
    readonly annotations?: { readonly alarms?: string[] };
  };
}

/** The widgets of a dashboard body (as `bodyOf` gives it), with each token of the body replaced by `token`. */
const widgetsOf = (body: string, token = '<token>'): Widget[] => {
  const parsed: unknown = JSON.parse(body);
  const text =
    typeof parsed === 'string'
      ? parsed
      : ((parsed as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] as unknown[])
          .map((p) => (typeof p === 'string' ? p : token))
          .join('');
  return JSON.parse(text).widgets;
};

/** The widgets' titles, row by row (widgets with the same `y`), each row left to right. */
const rowsOf = (widgets: readonly Widget[]): string[][] => {
  const rows = new Map<number, Widget[]>();
  for (const w of widgets) rows.set(w.y, [...(rows.get(w.y) ?? []), w]);
  return [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, row]) => row.sort((a, b) => a.x - b.x).map((w) => w.properties.title ?? `<${w.type}>`));
};

describe('RegionDashboard', () => {
  const EAST_FS = 'fs-0123456789abcdef0';
  const WEST_FS = 'fs-0fedcba9876543210';
  const SERVICES = ['web', 'order-api'];
  const all = (fileSystemId: string): ReplicationWatch => ({
    databaseClusterId: 'haweb-test-aurora',
    cacheNodeIds: ['haweb-test-cache-001', 'haweb-test-cache-002'],
    fileSystemId,
  });
  /**
   * A bare stack in `region` with the region's dashboard on imported target groups (of one load balancer), one per
   * service, watching `replication`.
   */
  const build = (region: string, replication: ReplicationWatch) => {
    const stack = bareStack({ region });
    new RegionDashboard(stack, 'Dashboard', {
      title: `HA web service (test): ${region}`,
      services: SERVICES.map((name) => ({
        name,
        targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, `TargetGroup-${name}`, {
          targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:targetgroup/${name}/0123456789abcdef`,
          loadBalancerArns: `arn:aws:elasticloadbalancing:${region}:${TEST_ACCOUNT}:loadbalancer/app/lb/fedcba9876543210`,
        }),
      })),
      healthCheckId: '11111111-aaaa-4bbb-8ccc-000000000001',
      replication,
    });
    return bodyOf(templateOf(stack));
  };
  const east = build('us-east-1', all(EAST_FS));
  const west = build('us-west-2', all(WEST_FS));
  /** Only a database: no session cache, no shared files. */
  const databaseOnly = build('us-east-1', { databaseClusterId: 'haweb-test-aurora' });
  const SERVICE_METRICS = ['RequestCount', 'HTTPCode_Target_5XX_Count', 'TargetResponseTime', 'HealthyHostCount'];
  const REPLICATION = ['AuroraGlobalDBReplicationLag', 'GlobalDatastoreReplicationLag', 'TimeSinceLastSync'];
  const serviceRow = (name: string) => [
    `${name}: requests / min`,
    `${name}: target 5xx / min`,
    `${name}: target latency p99 (s)`,
    `${name}: healthy hosts`,
  ];

  test.each([
    ['us-east-1', east],
    ['us-west-2', west],
  ])('in %s shows the services, the health check and all three replications, whatever the role', (_region, body) => {
    for (const m of [...SERVICE_METRICS, 'HealthCheckStatus', ...REPLICATION]) expect(body).toContain(m);
    expect(body).toContain('haweb-test-aurora');
    expect(body).toContain('haweb-test-cache-001');
  });

  test('has a title, then a row of four graphs per service on its own target group, then the region rows', () => {
    expect(rowsOf(widgetsOf(east, 'us-east-1'))).toEqual([
      ['<text>'],
      serviceRow('web'),
      serviceRow('order-api'),
      ['Route 53 health check (1 = healthy)', 'Aurora Global Database replication lag (ms)'],
      ['Global Datastore replication lag (s)', 'EFS time since last sync (s)'],
    ]);
    const widgets = widgetsOf(east, 'us-east-1');
    for (const name of SERVICES) {
      const row = widgets.filter((w) => w.properties.title?.startsWith(`${name}: `));
      expect(row).toHaveLength(4);
      for (const w of row) {
        expect(w.width).toBe(6);
        expect(JSON.stringify(w.properties.metrics)).toContain(`targetgroup/${name}/0123456789abcdef`);
      }
    }
  });

  test('draws no replication graph of a data component the environment does not have', () => {
    expect(rowsOf(widgetsOf(databaseOnly, 'us-east-1'))).toEqual([
      ['<text>'],
      serviceRow('web'),
      serviceRow('order-api'),
      ['Route 53 health check (1 = healthy)', 'Aurora Global Database replication lag (ms)'],
    ]);
    expect(databaseOnly).toContain('AuroraGlobalDBReplicationLag');
    for (const absent of ['GlobalDatastoreReplicationLag', 'TimeSinceLastSync', 'haweb-test-cache']) {
      expect(databaseOnly).not.toContain(absent);
    }
  });

  test("the two regions' dashboards differ only in the title and the region's own file system", () => {
    const regionFree = (body: string, region: string, fileSystemId: string) =>
      body.replace(`(test): ${region}`, '(test): <region>').replaceAll(fileSystemId, '<own file system>');
    expect(regionFree(east, 'us-east-1', EAST_FS)).toEqual(regionFree(west, 'us-west-2', WEST_FS));
  });

  test("draws EFS time since last sync with the alarm's query on the region's own file system, and no other", () => {
    const widgets = widgetsOf(west, 'us-west-2');
    expect(widgets.find((w) => w.properties.title === 'EFS time since last sync (s)')!.properties.metrics).toEqual([
      [
        {
          label: 'TimeSinceLastSync',
          expression:
            'SELECT MAX(TimeSinceLastSync) FROM SCHEMA("AWS/EFS", DestinationFileSystemId, FileSystemId) ' +
            `WHERE FileSystemId = '${WEST_FS}'`,
        },
      ],
    ]);
    expect(west).not.toContain(EAST_FS);
    expect(east).not.toContain(WEST_FS);
  });

  test('reads Route 53 health check status in us-east-1, where Route 53 publishes it', () => {
    expect(west).toMatch(/HealthCheckStatus[^\]]*11111111-aaaa-4bbb-8ccc-000000000001[^\]]*us-east-1/);
  });
});

describe('EnvironmentDashboard', () => {
  const CONFIG = withConfig({ name: 'test' });
  /** Not the order `regionAlarms` gives: the rows must follow the order given. */
  const ALARMS: RegionAlarmRef[] = [
    ...SERVICE_ALARM_IDS.map((alarm) => ({ service: 'order-api', alarm })),
    { alarm: 'DatabaseReplicationLag' },
    ...SERVICE_ALARM_IDS.map((alarm) => ({ service: 'web', alarm })),
  ];
  const arn = (region: string, ref: RegionAlarmRef) =>
    `arn:aws:cloudwatch:${region}:${TEST_ACCOUNT}:alarm:${regionAlarmName(CONFIG, ref)}`;
  const alarmArns = (region: string) => ALARMS.map((ref) => arn(region, ref));
  const REGIONS: EnvironmentDashboardProps['regions'] = [
    { label: 'us-east-1 (created as primary)', region: 'us-east-1', alarmArns: alarmArns('us-east-1') },
    { label: 'us-west-2 (created as secondary)', region: 'us-west-2', alarmArns: alarmArns('us-west-2') },
  ];
  const build = (props: Partial<EnvironmentDashboardProps> = {}) => {
    const stack = bareStack();
    new EnvironmentDashboard(stack, 'Dashboard', { regions: REGIONS, alarms: ALARMS, ...props });
    return bodyOf(templateOf(stack));
  };
  const body = build();
  const STEERING = {
    primaryGateHealthCheckId: 'gate-0000-0000-0000-000000000001',
    planPrimaryHealthCheckId: 'plan-0000-0000-0000-000000000002',
    primaryEndpointHealthCheckId: 'endpoint-0000-0000-0000-000000000003',
  };
  const steered = build({ dnsSteering: STEERING });

  test("shows both regions side by side through their alarms' ARNs", () => {
    expect(body).toContain('us-east-1 (created as primary)');
    expect(body).toContain('us-west-2 (created as secondary)');
    for (const region of REGIONS) {
      for (const alarmArn of region.alarmArns) expect(body).toContain(alarmArn);
    }
    expect(body).toContain('\\"region\\":\\"us-west-2\\"');
  });

  test('shows every alarm of each region: its state, and a graph of its metric and threshold', () => {
    for (const region of ['us-east-1', 'us-west-2']) {
      for (const ref of ALARMS) {
        // Once in the region's alarm status widget, once in the alarm's own graph.
        expect(body.split(arn(region, ref))).toHaveLength(3);
      }
    }
    expect(body).not.toContain('not replicated into');
  });

  test('has a row per alarm in the order of `alarms`, each region in its column with its own alarm', () => {
    const widgets = widgetsOf(body);
    const [status, ...rows] = rowsOf(widgets);
    expect(status).toEqual(['Alarms: us-east-1 (created as primary)', 'Alarms: us-west-2 (created as secondary)']);
    expect(rows).toEqual(
      ALARMS.map((ref) => [
        `${alarmTitle(ref)}: us-east-1 (created as primary)`,
        `${alarmTitle(ref)}: us-west-2 (created as secondary)`,
      ]),
    );
    expect(rows[0]![0]).toBe('order-api: target 5xx / min: us-east-1 (created as primary)');
    expect(rows[3]![0]).toBe('Aurora Global Database replication lag (ms): us-east-1 (created as primary)');
    const graphs = widgets.filter((w) => w.properties.annotations?.alarms).sort((a, b) => a.y - b.y || a.x - b.x);
    expect(graphs.map((w) => [w.properties.region, w.properties.annotations!.alarms])).toEqual(
      ALARMS.flatMap((ref) => [
        ['us-east-1', [arn('us-east-1', ref)]],
        ['us-west-2', [arn('us-west-2', ref)]],
      ]),
    );
    for (const [i, region] of ['us-east-1', 'us-west-2'].entries()) {
      expect(widgets.find((w) => w.properties.title === status![i])!.properties.alarms).toEqual(alarmArns(region));
    }
  });

  test('refuses a region whose alarm ARNs do not match the alarms one for one, naming the region and the counts', () => {
    const short = alarmArns('us-west-2').slice(1);
    expect(() => build({ regions: [REGIONS[0], { ...REGIONS[1], alarmArns: short }] })).toThrow(
      `Test/Dashboard: us-west-2 has ${ALARMS.length - 1} alarm ARNs for ${ALARMS.length} alarms`,
    );
    expect(() => build({ alarms: ALARMS.slice(0, 3) })).toThrow(
      `Test/Dashboard: us-east-1 has ${ALARMS.length} alarm ARNs for 3 alarms`,
    );
  });

  test('without dnsSteering has no DNS steering row', () => {
    expect(body).not.toContain('DNS steering of the PRIMARY record');
  });

  test('with dnsSteering, a first row shows the PRIMARY record gate, the plan check and the endpoint check', () => {
    expect(steered).toContain('DNS steering of the PRIMARY record');
    expect(steered).toContain('PRIMARY record gate (endpoint AND plan)');
    for (const id of Object.values(STEERING)) expect(steered).toContain(id);
    expect(steered.indexOf('DNS steering')).toBeLessThan(steered.indexOf('us-east-1 (created as primary)'));
  });
});
