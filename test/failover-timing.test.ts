import * as fs from 'fs';
import * as path from 'path';
import { demo } from '../lib/config/environments';
import { ALB_ALIAS_TTL_SECONDS, failoverTiming } from '../lib/failover-timing';
import { withConfig } from './helpers';

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('failoverTiming', () => {
  const timing = failoverTiming(demo);

  test('target detection is the ALB interval times the unhealthy threshold', () => {
    expect(timing.targetDetectionSeconds).toBe(10 * 2);
  });

  test('region detection is the 10 s Route 53 interval times the failure threshold', () => {
    expect(timing.regionDetectionSeconds).toBe(30);
    expect(
      failoverTiming(withConfig({ dns: { ...demo.dns, healthCheckFailureThreshold: 5 } })).regionDetectionSeconds,
    ).toBe(50);
  });

  test('the DNS worst case adds the ALB alias TTL to detection', () => {
    expect(timing.dnsFailoverWorstCaseSeconds).toBe(30 + ALB_ALIAS_TTL_SECONDS);
  });

  test('the README states the figures the config gives', () => {
    expect(README).toContain(`**${timing.targetDetectionSeconds} s**`);
    expect(README).toContain(`**${timing.regionDetectionSeconds} s**`);
    expect(README).toContain(`**${timing.dnsFailoverWorstCaseSeconds} s**`);
  });
});
