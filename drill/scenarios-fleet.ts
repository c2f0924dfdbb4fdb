/**
 * Scenarios on the compute tier: steady state, an instance crash, a rolling deploy and the client's real
 * address behind the load balancer.
 */
import { randomBytes } from 'node:crypto';
import {
  describeErrors,
  errorsOf,
  ms,
  runResult,
  sessionBreaks,
  sessionSpread,
  startLoad,
  type Scenario,
} from './context';
import { isRunning } from './fleet';
import { now, sleep } from './util';

const STEADY_MS = 10_000;

/** 1. Steady state: no failure at all. */
export const steady: Scenario = {
  name: 'steady',
  title: `steady state, ${STEADY_MS / 1000} s of mixed load on every instance: zero errors`,
  timeoutMs: STEADY_MS + 30_000,
  async run(ctx) {
    const run = startLoad(ctx, 'steady', STEADY_MS + 5000);
    await sleep(STEADY_MS);
    const records = await run.stop();
    const failures: string[] = [];
    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    const served = new Set(records.map((r) => r.instanceId).filter(Boolean));
    const active = ctx.fleet.active.map((i) => i.id);
    const idle = active.filter((id) => !served.has(id));
    if (idle.length > 0) failures.push(`instance(s) ${idle.join(', ')} served no request`);
    const spread = sessionSpread(records);
    return runResult(
      this,
      run,
      failures,
      [
        `${records.length} requests, no error, over ${served.size} instances`,
        `${spread.usersOnSeveralInstances} users' counters were incremented by several instances, never going back`,
      ],
      { instances: active },
    );
  },
};

/** 2. One instance is killed with SIGKILL under load, then replaced. */
export const crash: Scenario = {
  name: 'crash',
  title: 'SIGKILL one instance under load: errors only inside the detection window, sessions continue',
  timeoutMs: 60_000,
  async run(ctx) {
    const { fleet, haproxy, timings } = ctx;
    const run = startLoad(ctx, 'crash', 45_000);
    await sleep(2000);
    const victim = fleet.active[Math.min(1, fleet.active.length - 1)];
    ctx.log(`SIGKILL ${victim.id} (pid ${victim.pid}, srv${victim.slot})`);
    const killAt = now();
    await fleet.crash(victim);
    const detectedMs = await haproxy.waitStatus(victim.slot, 'DOWN', timings.detectionMs + 5000);
    ctx.log(`HAProxy marked srv${victim.slot} DOWN ${detectedMs} ms after the kill`);
    // Let the survivors carry the load alone for a moment, as they would until the group replaces it.
    await sleep(Math.max(0, killAt + timings.detectionMs + 1000 - now()));
    const relaunchAt = now();
    const replacement = await fleet.launch(victim.version, victim.slot);
    const backAt = now();
    ctx.log(`replacement ${replacement.id} UP in srv${replacement.slot} after ${ms(backAt - relaunchAt)} ms`);
    await sleep(2000);
    const records = await run.stop();

    const allowedUntil = killAt + timings.detectionMs + ctx.requestTimeoutMs;
    const errors = errorsOf(records);
    const before = errors.filter((e) => e.end < killAt);
    const late = errors.filter((e) => e.start > allowedUntil || e.start > backAt);
    const breaks = sessionBreaks(records);
    const failures: string[] = [];
    if (before.length > 0) failures.push(`before the kill: ${describeErrors(before)}`);
    if (late.length > 0) {
      failures.push(
        `after the allowed window (kill + ${timings.detectionMs} ms detection + ${ctx.requestTimeoutMs} ms ` +
          `request timeout, or after the replacement was UP): ${describeErrors(late)}`,
      );
    }
    if (breaks.length > 0) failures.push(`sessions broke: ${describeErrors(breaks)}`);
    if (detectedMs > timings.detectionMs + 500) {
      failures.push(`HAProxy took ${detectedMs} ms to mark the instance DOWN (expected <= ${timings.detectionMs} ms)`);
    }
    if (isRunning(victim)) failures.push(`${victim.id} still runs after SIGKILL`);
    const lastError = errors.length > 0 ? Math.max(...errors.map((e) => e.end)) - killAt : 0;
    const spread = sessionSpread(records);
    return runResult(
      this,
      run,
      failures,
      [
        `${errors.length} error(s), the last ${ms(lastError)} ms after the kill ` +
          `(allowed: ${timings.detectionMs} ms detection + ${ctx.requestTimeoutMs} ms request timeout)`,
        `HAProxy marked it DOWN after ${detectedMs} ms (inter ${timings.checkIntervalMs} ms x fall ` +
          `${timings.unhealthyThreshold} + timeout ${timings.checkTimeoutMs} ms = ${timings.detectionMs} ms)`,
        `no session lost; ${spread.usersOnSeveralInstances} users' counters kept increasing across ` +
          `${spread.instances} instances`,
      ],
      {
        victim: victim.id,
        replacement: replacement.id,
        detectionMsMeasured: detectedMs,
        detectionMsAllowed: timings.detectionMs,
        errorsAllowedUntilMsAfterKill: ms(allowedUntil - killAt),
        lastErrorMsAfterKill: ms(lastError),
        replacementUpMsAfterKill: ms(backAt - killAt),
      },
    );
  },
};

/** 3. Every instance replaced by the next version, one at a time, launch before terminate. */
export const rollingDeploy: Scenario = {
  name: 'rolling-deploy',
  title: 'rolling deploy to the next version, launch before terminate: zero errors, then only the new version',
  timeoutMs: 120_000,
  async run(ctx) {
    const { fleet } = ctx;
    const from = fleet.active[0]?.version ?? 'v1';
    const to = `v${Number(from.replace(/^v/, '')) + 1}`;
    const run = startLoad(ctx, 'rolling-deploy', 100_000);
    await sleep(1500);
    const deployStart = now();
    const steps: Record<string, unknown>[] = [];
    const failures: string[] = [];
    const capacity = fleet.active.length;
    for (const old of [...fleet.active]) {
      const stepStart = now();
      const fresh = await fleet.launch(to);
      const upMs = ms(now() - stepStart);
      const upBeforeDrain = (await ctx.haproxy.slots()).filter((s) => s.status === 'UP').length;
      if (upBeforeDrain < capacity + 1) {
        failures.push(
          `only ${upBeforeDrain} servers UP before draining ${old.id} (launch before terminate wants ${capacity + 1})`,
        );
      }
      const retired = await fleet.retire(old);
      ctx.log(
        `${fresh.id} UP in srv${fresh.slot} after ${upMs} ms; ${old.id} drained and exited ` +
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
    const deployEnd = now();
    await sleep(2000);
    const records = await run.stop();

    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    const after = records.filter((r) => r.start > deployEnd && r.version !== undefined);
    const stale = after.filter((r) => r.version !== to);
    if (stale.length > 0) failures.push(`${stale.length} response(s) after the deploy came from ${stale[0].version}`);
    if (after.length === 0) failures.push('no response after the deploy to check the version of');
    const lastOld = Math.max(0, ...records.filter((r) => r.version === from).map((r) => r.end));
    const firstNew = Math.min(...records.filter((r) => r.version === to).map((r) => r.start));
    return runResult(
      this,
      run,
      failures,
      [
        `${fleet.active.length} instances replaced ${from} -> ${to} in ${ms(deployEnd - deployStart)} ms ` +
          `with no failed request`,
        `${after.length} responses after the deploy, all from ${to}; both versions served for ` +
          `${ms(Math.max(0, lastOld - firstNew))} ms`,
      ],
      { from, to, deployMs: ms(deployEnd - deployStart), steps },
    );
  },
};

const PROBES = 24;

/** 4. A forged X-Forwarded-For must not reach the access log as the client's address. */
export const clientIp: Scenario = {
  name: 'client-ip',
  title: 'real client IP: a forged X-Forwarded-For: 6.6.6.6 is logged as 127.0.0.1',
  timeoutMs: 30_000,
  async run(ctx) {
    const run = startLoad(ctx, 'client-ip', 20_000);
    await sleep(500);
    const marker = `xff-probe-${randomBytes(4).toString('hex')}`;
    const forged = ['6.6.6.6', '6.6.6.6, 10.1.2.3'];
    const logStart = now();
    const probes = [];
    for (let i = 0; i < PROBES; i++) {
      // A file that does not exist: the answer is a plain 404, and the access log names the path.
      const headers = { 'x-forwarded-for': forged[i % forged.length] };
      probes.push(await ctx.load.probe(run, `/files/${marker}-${i}`, headers, 404));
    }
    await sleep(1000);
    const records = await run.stop();

    const logged = ctx.fleet.accessLog().filter((e) => e.path.includes(marker));
    const failures: string[] = [];
    const spoofed = logged.filter((e) => e.clientIp !== '127.0.0.1');
    if (spoofed.length > 0) {
      const ips = [...new Set(spoofed.map((e) => e.clientIp))].join(', ');
      failures.push(`${spoofed.length} of ${logged.length} probe requests logged with clientIp ${ips}`);
    }
    if (logged.length < PROBES) failures.push(`only ${logged.length} of ${PROBES} probe requests in the access logs`);
    const window = ctx.fleet.accessLog().filter((e) => e.seenAt >= logStart);
    const others = window.filter(
      (e) => !e.path.includes(marker) && e.clientIp !== undefined && e.clientIp !== '127.0.0.1',
    );
    if (others.length > 0) {
      const ips = [...new Set(others.map((e) => e.clientIp))].join(', ');
      failures.push(`${others.length} other access log lines with clientIp ${ips}`);
    }
    // Every line must name the client, including health checks whose peer hangs up before the response.
    const withoutIp = window.filter((e) => e.clientIp === undefined);
    if (withoutIp.length > 0) {
      const paths = [...new Set(withoutIp.map((e) => `${e.method} ${e.path}`))].join(', ');
      failures.push(`${withoutIp.length} access log lines without a clientIp (${paths})`);
    }
    if (errorsOf(records).length > 0) failures.push(describeErrors(records));
    const instances = [...new Set(logged.map((e) => e.instanceId))];
    return runResult(
      this,
      run,
      failures,
      [
        `${logged.length} probes with X-Forwarded-For ${forged.map((f) => `"${f}"`).join(' or ')} were logged as ` +
          `127.0.0.1 by ${instances.length} instances (HAProxy appends the peer; the service trusts 1 hop)`,
      ],
      {
        probes: probes.length,
        logged: logged.length,
        instances,
        sampleLogLine: logged[0],
        linesWithoutClientIp: withoutIp.length,
        pathsWithoutClientIp: [...new Set(withoutIp.map((e) => `${e.method} ${e.path}`))],
      },
    );
  },
};
