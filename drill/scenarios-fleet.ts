/**
 * Scenarios on the compute tier, for every service's fleet: steady state, an instance crash, a rolling deploy
 * and the client's real address behind the load balancer.
 */
import { randomBytes } from 'node:crypto';
import {
  describeErrors,
  errorsOf,
  ms,
  ofService,
  perService,
  runResult,
  sessionBreaks,
  sessionSpread,
  startLoad,
  type Scenario,
} from './context';
import { isRunning, type Fleet, type Instance } from './fleet';
import type { RequestRecord } from './load';
import { CATALOG_SERVICE } from './services';
import { now, sleep } from './util';

const STEADY_MS = 10_000;

/** 1. Steady state: no failure at all, in any service. */
export const steady: Scenario = {
  name: 'steady',
  title: `steady state, ${STEADY_MS / 1000} s of mixed load on every instance of every service: zero errors`,
  timeoutMs: STEADY_MS + 30_000,
  async run(ctx) {
    const run = startLoad(ctx, 'steady', STEADY_MS + 5000);
    await sleep(STEADY_MS);
    const records = await run.stop();
    const failures: string[] = [];
    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    const served = new Set(records.map((r) => r.instanceId).filter(Boolean));
    const spreads: string[] = [];
    for (const fleet of ctx.fleets) {
      const active = fleet.active.map((i) => i.id);
      const idle = active.filter((id) => !served.has(id));
      if (idle.length > 0) failures.push(`${fleet.service} instance(s) ${idle.join(', ')} served no request`);
      if (ofService(records, fleet.service).length === 0) failures.push(`no request reached ${fleet.service}`);
      spreads.push(`${fleet.service} over ${active.length - idle.length} of ${active.length} instances`);
    }
    const spread = sessionSpread(records);
    return runResult(
      this,
      run,
      failures,
      [
        `${records.length} requests (${perService(records)}), no error; ${spreads.join(', ')}`,
        `${spread.usersOnSeveralInstances} users' counters were incremented by several instances, never going back`,
      ],
      { instances: Object.fromEntries(ctx.fleets.map((f) => [f.service, f.active.map((i) => i.id)])) },
    );
  },
};

/** What happened to one fleet in the crash scenario. */
interface CrashStep {
  readonly fleet: Fleet;
  readonly victim: Instance;
  readonly detectedMs: number;
  readonly replacement: Instance;
  /** Drill clock when the replacement was UP. */
  readonly backAt: number;
}

/** 2. One instance of every service is killed with SIGKILL under load, then replaced. */
export const crash: Scenario = {
  name: 'crash',
  title:
    'SIGKILL one instance of each service under load: errors only inside the detection window, the survivors ' +
    'serve, sessions continue',
  timeoutMs: 60_000,
  async run(ctx) {
    const run = startLoad(ctx, 'crash', 45_000);
    await sleep(2000);
    const victims = ctx.fleets.map((fleet) => ({ fleet, victim: fleet.active[Math.min(1, fleet.active.length - 1)]! }));
    ctx.log(
      `SIGKILL ${victims.map(({ victim: v }) => `${v.id} (pid ${v.pid}, ${v.service}/srv${v.slot})`).join(', ')}`,
    );
    const killAt = now();
    const steps: CrashStep[] = await Promise.all(
      victims.map(async ({ fleet, victim }) => {
        const t = fleet.backend.timings;
        await fleet.crash(victim);
        const detectedMs = await fleet.backend.waitStatus(victim.slot, 'DOWN', t.detectionMs + 5000);
        ctx.log(`HAProxy marked ${fleet.service}/srv${victim.slot} DOWN ${detectedMs} ms after the kill`);
        // Let the survivors carry the load alone for a moment, as they would until the group replaces it.
        await sleep(Math.max(0, killAt + t.detectionMs + 1000 - now()));
        const relaunchAt = now();
        const replacement = await fleet.launch(victim.version, victim.slot);
        const backAt = now();
        ctx.log(
          `replacement ${replacement.id} UP in ${fleet.service}/srv${replacement.slot} after ` +
            `${ms(backAt - relaunchAt)} ms`,
        );
        return { fleet, victim, detectedMs, replacement, backAt };
      }),
    );
    await sleep(2000);
    const records = await run.stop();

    const failures: string[] = [];
    const passes: string[] = [];
    const details: Record<string, unknown> = {};
    for (const { fleet, victim, detectedMs, replacement, backAt } of steps) {
      const t = fleet.backend.timings;
      const service = fleet.service;
      const own = ofService(records, service);
      const allowedUntil = killAt + t.detectionMs + ctx.requestTimeoutMs;
      const errors = errorsOf(own);
      const before = errors.filter((e) => e.end < killAt);
      const late = errors.filter((e) => e.start > allowedUntil || e.start > backAt);
      if (before.length > 0) failures.push(`${service}: before the kill: ${describeErrors(before)}`);
      if (late.length > 0) {
        failures.push(
          `${service}: after the allowed window (kill + ${t.detectionMs} ms detection + ${ctx.requestTimeoutMs} ms ` +
            `request timeout, or after the replacement was UP): ${describeErrors(late)}`,
        );
      }
      if (detectedMs > t.detectionMs + 500) {
        failures.push(
          `${service}: HAProxy took ${detectedMs} ms to mark the instance DOWN (expected <= ${t.detectionMs} ms)`,
        );
      }
      if (isRunning(victim)) failures.push(`${victim.id} still runs after SIGKILL`);
      // The survivors kept serving: answers between the detection and the replacement, from the service.
      const survived = own.filter(
        (r: RequestRecord) => r.ok && r.start > killAt + t.detectionMs && r.end < backAt && r.instanceId !== victim.id,
      );
      if (survived.length === 0) failures.push(`${service}: no request answered while ${victim.id} was down`);
      const lastError = errors.length > 0 ? Math.max(...errors.map((e) => e.end)) - killAt : 0;
      const errorText =
        errors.length === 0
          ? `no error in ${own.length} requests`
          : `${errors.length} error(s) of ${own.length} requests, the last ${ms(lastError)} ms after the kill`;
      passes.push(
        `${service}: ${errorText} (allowed: ${t.detectionMs} ms detection + ${ctx.requestTimeoutMs} ms request ` +
          `timeout); DOWN after ` +
          `${detectedMs} ms (inter ${t.checkIntervalMs} ms x fall ${t.unhealthyThreshold} + timeout ` +
          `${t.checkTimeoutMs} ms = ${t.detectionMs} ms); ${survived.length} answers from the survivors until ` +
          `${replacement.id} was UP`,
      );
      details[service] = {
        victim: victim.id,
        replacement: replacement.id,
        detectionMsMeasured: detectedMs,
        detectionMsAllowed: t.detectionMs,
        errorsAllowedUntilMsAfterKill: ms(allowedUntil - killAt),
        lastErrorMsAfterKill: ms(lastError),
        replacementUpMsAfterKill: ms(backAt - killAt),
        answeredWhileDown: survived.length,
      };
    }
    const breaks = sessionBreaks(records);
    if (breaks.length > 0) failures.push(`sessions broke: ${describeErrors(breaks)}`);
    const spread = sessionSpread(records);
    passes.push(
      `no session lost; ${spread.usersOnSeveralInstances} users' counters kept increasing across ` +
        `${spread.instances} instances`,
    );
    return runResult(this, run, failures, passes, details);
  },
};

/** One fleet's rolling deploy: launch before terminate, one instance at a time. */
async function rollFleet(
  fleet: Fleet,
  to: string,
  log: (message: string) => void,
): Promise<{ failures: string[]; steps: Record<string, unknown>[]; replaced: number }> {
  const failures: string[] = [];
  const steps: Record<string, unknown>[] = [];
  const capacity = fleet.active.length;
  for (const old of [...fleet.active]) {
    const stepStart = now();
    const fresh = await fleet.launch(to);
    const upMs = ms(now() - stepStart);
    const upBeforeDrain = (await fleet.backend.slots()).filter((s) => s.status === 'UP').length;
    if (upBeforeDrain < capacity + 1) {
      failures.push(
        `only ${upBeforeDrain} ${fleet.service} servers UP before draining ${old.id} (launch before terminate ` +
          `wants ${capacity + 1})`,
      );
    }
    const retired = await fleet.retire(old);
    log(
      `${fresh.id} UP in ${fleet.service}/srv${fresh.slot} after ${upMs} ms; ${old.id} drained and exited ` +
        `(code ${retired.code}, signal ${retired.signal}) in ${retired.ms} ms`,
    );
    if (retired.code !== 0) {
      failures.push(`${old.id} did not exit cleanly on SIGTERM (code ${retired.code}, signal ${retired.signal})`);
    }
    steps.push({
      old: old.id,
      new: fresh.id,
      slot: fresh.slot,
      newUpMs: upMs,
      upBeforeDrain,
      oldExitMs: retired.ms,
      oldExitCode: retired.code,
      oldExitSignal: retired.signal,
    });
  }
  return { failures, steps, replaced: capacity };
}

/**
 * 3. Every instance of every service replaced by the next version, one at a time per service, launch before
 * terminate; the services' groups roll at the same time, as their instance refreshes would.
 */
export const rollingDeploy: Scenario = {
  name: 'rolling-deploy',
  title:
    'rolling deploy of every service to the next version, launch before terminate: zero errors, then only the new ' +
    'version',
  timeoutMs: 120_000,
  async run(ctx) {
    const from = ctx.fleets[0]?.active[0]?.version ?? 'v1';
    const to = `v${Number(from.replace(/^v/, '')) + 1}`;
    const run = startLoad(ctx, 'rolling-deploy', 100_000);
    await sleep(1500);
    const deployStart = now();
    const rolled = await Promise.all(ctx.fleets.map((fleet) => rollFleet(fleet, to, ctx.log)));
    const deployEnd = now();
    await sleep(2000);
    const records = await run.stop();

    const failures = rolled.flatMap((r) => r.failures);
    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    const after = records.filter((r) => r.start > deployEnd && r.version !== undefined);
    const stale = after.filter((r) => r.version !== to);
    if (stale.length > 0) {
      failures.push(
        `${stale.length} response(s) after the deploy came from ${stale[0]!.version} (${stale[0]!.instanceId})`,
      );
    }
    for (const fleet of ctx.fleets) {
      if (ofService(after, fleet.service).length === 0) {
        failures.push(`no ${fleet.service} response after the deploy to check the version of`);
      }
    }
    const lastOld = Math.max(0, ...records.filter((r) => r.version === from).map((r) => r.end));
    const firstNew = Math.min(...records.filter((r) => r.version === to).map((r) => r.start));
    const replaced = ctx.fleets.map((f, i) => `${rolled[i]!.replaced} ${f.service}`).join(' and ');
    return runResult(
      this,
      run,
      failures,
      [
        `${replaced} instances replaced ${from} -> ${to} in ${ms(deployEnd - deployStart)} ms with no failed ` +
          `request (${perService(records)} requests)`,
        `${after.length} responses after the deploy, all from ${to}; both versions served for ` +
          `${ms(Math.max(0, lastOld - firstNew))} ms`,
      ],
      {
        from,
        to,
        deployMs: ms(deployEnd - deployStart),
        steps: Object.fromEntries(ctx.fleets.map((f, i) => [f.service, rolled[i]!.steps])),
      },
    );
  },
};

/** Probes per service. */
const PROBES = 24;

/**
 * A path of `service` that answers a plain 404 and names `marker` in the access log: a file or an item that does
 * not exist.
 */
function probePath(service: string, marker: string, i: number): string {
  return service === CATALOG_SERVICE ? `/api/catalog/items/${marker}-${i}` : `/files/${marker}-${i}`;
}

/** 4. A forged X-Forwarded-For must not reach any service's access log as the client's address. */
export const clientIp: Scenario = {
  name: 'client-ip',
  title: "real client IP: a forged X-Forwarded-For: 6.6.6.6 is logged as 127.0.0.1 in every service's access log",
  timeoutMs: 30_000,
  async run(ctx) {
    const run = startLoad(ctx, 'client-ip', 20_000);
    await sleep(500);
    const marker = `xff-probe-${randomBytes(4).toString('hex')}`;
    const forged = ['6.6.6.6', '6.6.6.6, 10.1.2.3'];
    const logStart = now();
    const probes: RequestRecord[] = [];
    for (const fleet of ctx.fleets) {
      for (let i = 0; i < PROBES; i++) {
        const headers = { 'x-forwarded-for': forged[i % forged.length]! };
        probes.push(await ctx.load.probe(run, probePath(fleet.service, marker, i), headers, 404));
      }
    }
    await sleep(1000);
    const records = await run.stop();

    const failures: string[] = [];
    const passes: string[] = [];
    const details: Record<string, unknown> = { probes: probes.length };
    for (const fleet of ctx.fleets) {
      const service = fleet.service;
      const logged = fleet.accessLog().filter((e) => e.path.includes(marker));
      const spoofed = logged.filter((e) => e.clientIp !== '127.0.0.1');
      if (spoofed.length > 0) {
        const ips = [...new Set(spoofed.map((e) => e.clientIp))].join(', ');
        failures.push(`${service}: ${spoofed.length} of ${logged.length} probe requests logged with clientIp ${ips}`);
      }
      if (logged.length < PROBES) {
        failures.push(`${service}: only ${logged.length} of ${PROBES} probe requests in the access logs`);
      }
      const window = fleet.accessLog().filter((e) => e.seenAt >= logStart);
      const others = window.filter(
        (e) => !e.path.includes(marker) && e.clientIp !== undefined && e.clientIp !== '127.0.0.1',
      );
      if (others.length > 0) {
        const ips = [...new Set(others.map((e) => e.clientIp))].join(', ');
        failures.push(`${service}: ${others.length} other access log lines with clientIp ${ips}`);
      }
      // Every line must name the client, including health checks whose peer hangs up before the response.
      const withoutIp = window.filter((e) => e.clientIp === undefined);
      if (withoutIp.length > 0) {
        const paths = [...new Set(withoutIp.map((e) => `${e.method} ${e.path}`))].join(', ');
        failures.push(`${service}: ${withoutIp.length} access log lines without a clientIp (${paths})`);
      }
      const instances = [...new Set(logged.map((e) => e.instanceId))];
      passes.push(
        `${service}: ${logged.length} probes with X-Forwarded-For ${forged.map((f) => `"${f}"`).join(' or ')} ` +
          `were logged as 127.0.0.1 by ${instances.length} instances, and ${window.length - logged.length} other ` +
          'lines of the window name no other address',
      );
      details[service] = {
        logged: logged.length,
        instances,
        linesInWindow: window.length,
        sampleLogLine: logged[0],
        linesWithoutClientIp: withoutIp.length,
        pathsWithoutClientIp: [...new Set(withoutIp.map((e) => `${e.method} ${e.path}`))],
      };
    }
    passes.push('HAProxy appends the peer; each service trusts 1 hop (TRUSTED_PROXY_HOPS=1)');
    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    return runResult(this, run, failures, passes, details);
  },
};
