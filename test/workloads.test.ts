/**
 * The workload contract across an environment (issue 12): several services behind one listener per region, each
 * with its own target group, rule, group, alarms, dashboard row, fault injection target and place in the Region
 * switch plan; and data components that exist only when a service uses them, with everything that watches or
 * switches them following. Staging (two services) as `cdk synth` writes it, and two small environments built in
 * process: a service that uses only the database, and one that uses nothing.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { EnvironmentConfig, ServiceDefinition } from '../lib/config';
import { staging } from '../lib/config/environments';
import { HaEnvironment } from '../lib/ha-environment';
import { regionAlarmName } from '../lib/names';
import { APP_OUTPUTS, PLAN_OUTPUTS } from '../lib/stack-outputs';
import { newApp } from './helpers';
import { synthesized } from './synthesized';

const ROLES = ['primary', 'secondary'] as const;
const env = synthesized('staging');
const [web, catalog] = env.config.services as [ServiceDefinition, ServiceDefinition];

/** The resources of `type` in a template, by logical ID. */
const resources = (template: Template, type: string) =>
  template.findResources(type) as Record<string, { Properties: Record<string, any>; DependsOn?: string[] }>;

describe.each(ROLES)('staging, %s region: two services behind one load balancer', (role) => {
  const app = env.stack('App', role);
  const rules = Object.values(resources(app.template, 'AWS::ElasticLoadBalancingV2::ListenerRule'));
  const targetGroups = resources(app.template, 'AWS::ElasticLoadBalancingV2::TargetGroup');

  test('one load balancer, one HTTPS listener, a rule and a target group per service', () => {
    app.template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    expect(Object.keys(targetGroups)).toHaveLength(2);
    expect(rules.map((r) => [r.Properties.Priority, r.Properties.Conditions])).toEqual([
      [web.routing.priority, [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }]],
      [catalog.routing.priority, [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/catalog/*'] } }]],
    ]);
    // Each rule forwards to its own target group, on its service's port.
    const forwarded = rules.map((r) => targetGroups[r.Properties.Actions[0].TargetGroupArn.Ref]!.Properties.Port);
    expect(forwarded).toEqual([web.port, catalog.port]);
  });

  test('two groups, each with its own name, capacity and instance refresh rolled back by its own alarms', () => {
    const all = Object.entries(app.template.findResources('AWS::AutoScaling::AutoScalingGroup') as Record<string, any>);
    expect(all.map(([, g]) => [g.Properties.AutoScalingGroupName, g.Properties.MinSize, g.Properties.MaxSize])).toEqual(
      [
        ['haweb-staging-web', String(web.capacity[role].min), String(web.capacity[role].max)],
        ['haweb-staging-catalog', String(catalog.capacity[role].min), String(catalog.capacity[role].max)],
      ],
    );
    for (const [id, group] of all) {
      const prefix = id.startsWith('ServiceWeb') ? 'ServiceWebFleet' : 'ServiceCatalogFleet';
      const refresh = group.UpdatePolicy.AutoScalingInstanceRefresh;
      expect(refresh.Strategy).toBe('Rolling');
      const alarms: { Ref: string }[] = refresh.Preferences.AlarmSpecification.Alarms;
      expect(alarms).toHaveLength(2);
      for (const alarm of alarms) expect(alarm.Ref.startsWith(prefix)).toBe(true);
    }
  });

  test('each service has its own alarms, with fixed names', () => {
    const names = Object.values(resources(app.template, 'AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.AlarmName)
      .filter((n): n is string => typeof n === 'string');
    for (const service of ['web', 'catalog']) {
      for (const alarm of ['Target5xx', 'LatencyP99', 'HealthyHosts'] as const) {
        expect(names).toContain(regionAlarmName(env.config, { service, alarm }));
      }
    }
  });

  test('the dashboard has a row per service', () => {
    const body = JSON.stringify(Object.values(resources(app.template, 'AWS::CloudWatch::Dashboard'))[0]);
    expect(body).toContain('web: requests / min');
    expect(body).toContain('catalog: requests / min');
  });

  test('each service target group is an output that pre-flight reads', () => {
    expect(Object.keys(app.json.Outputs ?? {})).toEqual(
      expect.arrayContaining([APP_OUTPUTS.targetGroupArn('web'), APP_OUTPUTS.targetGroupArn('catalog')]),
    );
  });

  test('the catalog (database only) gets neither the cache nor the shared files', () => {
    const launchTemplates = Object.entries(resources(app.template, 'AWS::EC2::LaunchTemplate'));
    const text = (id: string) => JSON.stringify(launchTemplates.find(([k]) => k.startsWith(id))![1]);
    expect(text('ServiceCatalog')).toContain('DATABASE_HOST=');
    expect(text('ServiceCatalog')).not.toMatch(/REDIS_|FILES_DIR|efs|cache-auth/);
    expect(text('ServiceWeb')).toMatch(/REDIS_HOST=.*FILES_DIR=\/mnt\/shared\/web/);
    const policies = Object.entries(resources(app.template, 'AWS::IAM::Policy'));
    const catalogPolicy = JSON.stringify(policies.filter(([k]) => k.startsWith('ServiceCatalog')));
    expect(catalogPolicy).toContain('"rds-db:connect"');
    expect(catalogPolicy).toContain('/svc_catalog');
    expect(catalogPolicy).not.toContain('secret:haweb/staging/database');
    expect(catalogPolicy).not.toMatch(/cache-auth|elasticfilesystem/);
  });
});

describe('staging: both services are switched with the rest', () => {
  const ops = env.stack('Operations', 'primary');
  const plan = Object.values(resources(ops.template, 'AWS::ARCRegionSwitch::Plan'))[0]!;
  const steps: any[] = plan.Properties.Workflows[0].Steps;

  test("the plan scales every service's group, one step each (one group per region and step)", () => {
    const scale = steps.find((s) => s.Name === 'scale-target-fleets');
    expect(scale.ExecutionBlockType).toBe('Parallel');
    const inner: any[] = scale.ExecutionBlockConfiguration.ParallelConfig.Steps;
    expect(inner.map((s) => s.Name)).toEqual(['scale-web', 'scale-catalog']);
    for (const s of inner) {
      expect(s.ExecutionBlockConfiguration.Ec2AsgCapacityIncreaseConfig.Asgs).toHaveLength(2);
    }
    for (const region of [env.config.primary.region, env.config.secondary.region]) {
      for (const service of ['web', 'catalog']) {
        expect(Object.keys(ops.json.Outputs ?? {})).toContain(PLAN_OUTPUTS.fleetArn(region, service));
      }
    }
  });

  test("the plan watches every service's health in both regions, through each region's composite alarm", () => {
    const alarms = JSON.stringify(plan.Properties.AssociatedAlarms);
    expect(alarms.split(regionAlarmName(env.config, { alarm: 'ServiceHealth' }))).toHaveLength(3);
    const composite = Object.values(
      resources(env.stack('App', 'primary').template, 'AWS::CloudWatch::CompositeAlarm'),
    )[0]!;
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    for (const service of ['Web', 'Catalog']) {
      expect(rule).toMatch(new RegExp(`Alarms${service}Target5xx`));
      expect(rule).toMatch(new RegExp(`Alarms${service}HealthyHosts`));
    }
  });

  test('pre-flight and post-check know every service and its readiness', () => {
    const fn = Object.values(resources(ops.template, 'AWS::Lambda::Function')).find((f) =>
      String(f.Properties.FunctionName).endsWith('-postcheck-plan-step'),
    )!;
    expect(JSON.parse(fn.Properties.Environment.Variables.SERVICES)).toEqual([
      { name: 'web', readinessPath: '/health/ready', writablePointer: '/database/writable' },
      { name: 'catalog', readinessPath: '/api/catalog/health/ready', writablePointer: '/database/writable' },
    ]);
  });

  test.each(ROLES)('each service is a fault injection target in the %s region', (role) => {
    const templates = Object.keys(resources(env.stack('Operations', role).template, 'AWS::FIS::ExperimentTemplate'));
    expect(templates.filter((id) => id.includes('TerminateInstances'))).toEqual([
      expect.stringMatching(/TerminateInstancesWeb/),
      expect.stringMatching(/TerminateInstancesCatalog/),
    ]);
  });

  test('the environment dashboard has rows for both services', () => {
    const body = JSON.stringify(Object.values(resources(ops.template, 'AWS::CloudWatch::Dashboard'))[0]);
    expect(body).toContain('web: target 5xx / min');
    expect(body).toContain('catalog: healthy hosts');
  });
});

/** The templates of an environment built in process, by stack name. */
function environmentOf(config: EnvironmentConfig): Record<string, Template> {
  const app = newApp();
  const environment = new HaEnvironment(app, config);
  return Object.fromEntries(environment.stacks.map((s) => [s.stackName, Template.fromStack(s)]));
}

describe('data components exist only when a service uses them', () => {
  /** A stateless extra service under `/api/<name>/*` (no data component, no readiness). */
  const stateless = (name: string, priority: number): ServiceDefinition => ({
    ...catalog,
    name,
    uses: [],
    readiness: undefined,
    routing: { priority, pathPatterns: [`/api/${name}/*`] },
  });
  // Three services, only one of them with the database: more stop conditions than a FIS template takes if each
  // named every service's alarms (a review found the Operations stacks would not deploy with three).
  const catalogOnly: EnvironmentConfig = {
    ...staging,
    name: 'dbonly',
    services: [catalog, stateless('hello', 200), stateless('status', 300)],
    dns: { ...staging.dns, healthCheckPath: '/api/catalog/health/ready' },
  };
  const nothing: EnvironmentConfig = {
    ...catalogOnly,
    name: 'stateless',
    services: [{ ...catalog, uses: [], readiness: { path: '/api/catalog/health' } }],
    dns: { ...staging.dns, healthCheckPath: '/api/catalog/health' },
  };
  const dbOnly = environmentOf(catalogOnly);
  const none = environmentOf(nothing);
  const count = (templates: Record<string, Template>, type: string) =>
    Object.values(templates).reduce((n, t) => n + Object.keys(t.findResources(type)).length, 0);

  test('a service that uses only the database: Aurora, but no ElastiCache and no EFS (no Storage stacks)', () => {
    expect(Object.keys(dbOnly).filter((n) => n.includes('-Storage-'))).toEqual([]);
    expect(count(dbOnly, 'AWS::RDS::DBCluster')).toBe(2);
    expect(count(dbOnly, 'AWS::ElastiCache::ReplicationGroup')).toBe(0);
    expect(count(dbOnly, 'AWS::ElastiCache::GlobalReplicationGroup')).toBe(0);
    expect(count(dbOnly, 'AWS::EFS::FileSystem')).toBe(0);
  });

  test('and nothing watches or switches what is not there', () => {
    const json = JSON.stringify(Object.values(dbOnly).map((t) => t.toJSON()));
    expect(json).not.toMatch(/CacheReplicationLag|cache-replication-lag|FilesSinceLastSync|TimeSinceLastSync/);
    expect(json).toMatch(/database-replication-lag/);
    expect(json).not.toMatch(/-cache-failover|-efs-replication/);
    const plan = Object.values(
      dbOnly['HaWeb-dbonly-Operations-eu-west-1']!.findResources('AWS::ARCRegionSwitch::Plan'),
    )[0] as any;
    const dataTier = plan.Properties.Workflows[0].Steps.find((s: any) => s.Name === 'switch-data-tier');
    expect(dataTier.ExecutionBlockConfiguration.ParallelConfig.Steps.map((s: any) => s.Name)).toEqual([
      'aurora-global-database',
    ]);
  });

  test('three services: every FIS template within 5 stop conditions, each service a target of its own', () => {
    for (const region of [staging.primary.region, staging.secondary.region]) {
      const ops = dbOnly[`HaWeb-dbonly-Operations-${region}`]!;
      const templates = Object.entries(ops.findResources('AWS::FIS::ExperimentTemplate')) as [string, any][];
      for (const [, t] of templates) expect(t.Properties.StopConditions.length).toBeLessThanOrEqual(5);
      expect(
        templates.filter(([id]) => id.includes('TerminateInstances')).map(([id]) => id.replace(/[0-9A-F]{8}$/, '')),
      ).toEqual([
        'ExperimentsTerminateInstancesCatalog',
        'ExperimentsTerminateInstancesHello',
        'ExperimentsTerminateInstancesStatus',
      ]);
    }
    const plan = Object.values(
      dbOnly['HaWeb-dbonly-Operations-eu-west-1']!.findResources('AWS::ARCRegionSwitch::Plan'),
    )[0] as any;
    expect(Object.keys(plan.Properties.AssociatedAlarms)).toHaveLength(2);
    const scale = plan.Properties.Workflows[0].Steps.find((st: any) => st.Name === 'scale-target-fleets');
    expect(scale.ExecutionBlockConfiguration.ParallelConfig.Steps.map((st: any) => st.Name)).toEqual([
      'scale-catalog',
      'scale-hello',
      'scale-status',
    ]);
  });

  test('a service that uses nothing: no Data and no Storage stacks, no data-tier step, no rejoin', () => {
    expect(Object.keys(none).filter((n) => /-(Data|Storage)-/.test(n))).toEqual([]);
    expect(count(none, 'AWS::RDS::DBCluster')).toBe(0);
    const ops = none['HaWeb-stateless-Operations-eu-west-1']!;
    const plan = Object.values(ops.findResources('AWS::ARCRegionSwitch::Plan'))[0] as any;
    expect(plan.Properties.Workflows[0].Steps.map((s: any) => s.Name)).toEqual([
      'preflight',
      'scale-catalog',
      'shift-dns',
      'postcheck',
    ]);
    const functions = Object.values(ops.findResources('AWS::Lambda::Function')).map(
      (f: any) => f.Properties.FunctionName,
    );
    expect(functions.filter((n) => typeof n === 'string' && !n.endsWith('-plan-step')).sort()).toEqual([
      'haweb-stateless-postcheck',
      'haweb-stateless-preflight',
    ]);
    expect(Object.keys(ops.findResources('AWS::FIS::ExperimentTemplate')).some((id) => id.includes('Database'))).toBe(
      false,
    );
  });
});

describe.each(ROLES)('staging, %s region: each data store admits exactly the services that use it', (role) => {
  const network = env.stack('Network', role);
  const data = env.stack('Data', role);
  const storage = env.stack('Storage', role);
  const groupOf = (service: string) =>
    Object.keys(resources(network.template, 'AWS::EC2::SecurityGroup')).find((id) =>
      id.startsWith(`Service${service}SecurityGroup`),
    )!;
  /** The Network stack security groups an ingress rule of `stack` admits, by logical ID. */
  const admitted = (stack: typeof data, port: number) =>
    Object.values(resources(stack.template, 'AWS::EC2::SecurityGroupIngress'))
      .filter((r) => r.Properties.FromPort === port)
      .map((r) => JSON.stringify(r.Properties.SourceSecurityGroupId))
      .map((ref) => ['Web', 'Catalog'].find((s) => ref.includes(groupOf(s)))!)
      .sort();

  test('one security group per service in the network stack', () => {
    expect(groupOf('Web')).toBeDefined();
    expect(groupOf('Catalog')).toBeDefined();
  });

  test('PostgreSQL admits both services; Valkey and NFS only the reference service', () => {
    expect(admitted(data, 5432)).toEqual(['Catalog', 'Web']);
    expect(admitted(data, 6379)).toEqual(['Web']);
    expect(admitted(storage, 2049)).toEqual(['Web']);
  });
});
