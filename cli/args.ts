import { parseArgs } from 'node:util';
import { COMPONENTS } from '../contract';
import { UsageError } from './exit';
import { SwitchCommand } from './switch';

/** Every command of the CLI. */
export type Command = 'status' | SwitchCommand | 'rejoin' | 'check-deploy' | 'record-ids';

/** A parsed command line. */
export interface ParsedArgs {
  /** The command, or undefined for `--help` without a command. */
  readonly command?: Command;
  /** `--help` was given. */
  readonly help: boolean;
  /**
   * Environment from `-c env=<name>`.
   * @default - the config's default environment
   */
  readonly env?: string;
  /** `--json` of status and rejoin. */
  readonly json: boolean;
  /** `--to <region>` of switchover, failover and rejoin. */
  readonly to?: string;
  /** `rejoin --only <components>`. */
  readonly only?: string;
  /** `rejoin --allow-overwrite`. */
  readonly allowOverwrite: boolean;
  /** `--timeout <minutes>`. */
  readonly timeoutMinutes: number;
  /** `--dry-run`. */
  readonly dryRun: boolean;
  /** `--comment <text>`. */
  readonly comment?: string;
  /** `check-deploy --stack <name>` (repeatable). */
  readonly stacks?: readonly string[];
  /** `check-deploy --assembly <dir>`: the cloud assembly (default `cdk.out`). */
  readonly assembly?: string;
  /** `record-ids --context-file <file>` (default the project's `cdk.context.json`). */
  readonly contextFile?: string;
}

/** Default of `--timeout`, in minutes. */
export const DEFAULT_TIMEOUT_MINUTES = 60;

const COMMANDS: readonly Command[] = [
  'status',
  'switchover',
  'failover',
  'failback',
  'rejoin',
  'check-deploy',
  'record-ids',
];

/** Flags each command accepts (besides -c and --help). */
const COMMAND_FLAGS: Readonly<Record<Command, readonly string[]>> = {
  status: ['json'],
  switchover: ['to', 'timeout', 'dry-run', 'comment', 'json'],
  failover: ['to', 'timeout', 'dry-run', 'comment', 'json'],
  failback: ['timeout', 'dry-run', 'comment', 'json'],
  rejoin: ['to', 'only', 'allow-overwrite', 'dry-run', 'json'],
  'check-deploy': ['stack', 'assembly', 'json'],
  'record-ids': ['context-file', 'dry-run', 'json'],
};

/** Parses the arguments after `region` (for example `["status", "-c", "env=demo"]`). */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        context: { type: 'string', short: 'c', multiple: true },
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        to: { type: 'string' },
        timeout: { type: 'string' },
        'dry-run': { type: 'boolean' },
        comment: { type: 'string' },
        only: { type: 'string' },
        'allow-overwrite': { type: 'boolean' },
        stack: { type: 'string', multiple: true },
        assembly: { type: 'string' },
        'context-file': { type: 'string' },
      },
    });
  } catch (err) {
    // parseArgs' errors come from Node's own realm, so no `instanceof Error` here.
    const message = String((err as { message?: unknown }).message ?? err);
    throw new UsageError(message.split('. ')[0].replace(/\.$/, '') + '.');
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  if (positionals.length === 0) {
    if (help) return defaults({ help: true });
    throw new UsageError('missing command.');
  }
  if (positionals[0] === 'help') return defaults({ help: true, command: helpTopic(positionals[1]) });
  const command = positionals[0] as Command;
  if (!COMMANDS.includes(command)) {
    throw new UsageError(`unknown command "${positionals[0]}"; use one of: ${COMMANDS.join(', ')}.`);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}".`);
  if (help) return defaults({ help: true, command });

  const flags = [
    'json',
    'to',
    'timeout',
    'dry-run',
    'comment',
    'only',
    'allow-overwrite',
    'stack',
    'assembly',
    'context-file',
  ] as const;
  for (const flag of flags) {
    if (values[flag] !== undefined && !COMMAND_FLAGS[command].includes(flag)) {
      throw new UsageError(`${command} does not take --${flag}.`);
    }
  }
  let env: string | undefined;
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key !== 'env' || eq === -1 || eq === pair.length - 1) {
      throw new UsageError(`-c takes env=<name> (got "${pair}").`);
    }
    env = pair.slice(eq + 1);
  }
  return defaults({
    command,
    env,
    json: values.json === true,
    to: values.to,
    timeoutMinutes: values.timeout === undefined ? DEFAULT_TIMEOUT_MINUTES : parseTimeout(values.timeout),
    dryRun: values['dry-run'] === true,
    comment: values.comment,
    only: values.only,
    allowOverwrite: values['allow-overwrite'] === true,
    stacks: values.stack,
    assembly: values.assembly,
    contextFile: values['context-file'],
  });
}

function parseTimeout(raw: string): number {
  const minutes = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(minutes > 0) || minutes > 24 * 60) {
    throw new UsageError(`--timeout takes minutes between 1 and 1440 (got "${raw}").`);
  }
  return minutes;
}

function helpTopic(topic: string | undefined): Command | undefined {
  if (topic === undefined) return undefined;
  if (!COMMANDS.includes(topic as Command)) throw new UsageError(`unknown command "${topic}".`);
  return topic as Command;
}

function defaults(p: Partial<ParsedArgs>): ParsedArgs {
  return {
    help: false,
    json: false,
    dryRun: false,
    allowOverwrite: false,
    timeoutMinutes: DEFAULT_TIMEOUT_MINUTES,
    ...p,
  };
}

/** Usage of the whole CLI. */
export const MAIN_USAGE = `Usage: npm run region -- <command> [-c env=<name>] [options]

Operate the two-region deployment of one environment.

Commands:
  status                  Health and replication of both regions
  switchover --to <r>     Planned switch to region <r> (ARC Region switch, graceful)
  failover --to <r>       Unplanned switch to region <r> (ungraceful: the other region is impaired)
  failback                Switch back to the config's primary region (graceful)
  rejoin --to <r>         Failback preparation: the other region rejoins as secondary of <r>
  check-deploy            Whether deploying the synthesized templates (cdk.out) is safe now
  record-ids              Record the IDs and creation facts the templates keep (cdk.context.json)

Options:
  -c env=<name>           Environment (default: demo)
  -h, --help              Help; "<command> --help" for a command's options

Exit codes: 0 done, 1 switch failed or deploy not safe, 2 no credentials or nothing readable, 3 timeout, 64 usage error.`;

/** The options of the three switch commands but `--to`, and their exit codes. */
const SWITCH_OPTIONS = `  --timeout <min>     Minutes to follow the execution (default 60); it goes on in AWS after that
  --dry-run           Print the call that would be made; change nothing
  --comment <text>    Execution comment
  --json              Progress on stderr; one JSON summary (outcome, steps, errors) on stdout

Exit codes: 0 completed, 1 failed or could not start, 2 no credentials, 3 timeout, 64 usage error.`;

/** The `--to` option of switchover and failover. */
const TO_REGION = `  --to <region>       Region to activate: one of the environment's two regions
`;

/** Usage of each command. */
export const COMMAND_USAGE: Readonly<Record<Command, string>> = {
  status: `Usage: npm run region -- status [-c env=<name>] [--json]

Reads, for both regions: the Route 53 health check (CloudWatch HealthCheckStatus), the ALB's
healthy targets (in all and per service), the Aurora global cluster member (writer or reader, status,
replication lag), the Global Datastore member (primary or secondary) and EFS replication (status, time
since last sync); with a Region switch plan, whether it scales each service's live Auto Scaling group.
A data component no service of the environment uses does not exist: it shows "not in this environment".

Options:
  -c env=<name>   Environment (default: demo)
  --json          Print one JSON document instead of the table

Exit codes: 0 read (a field that failed shows "error: ..."), 2 nothing could be read or no credentials.`,
  switchover: `Usage: npm run region -- switchover --to <region> [-c env=<name>] [--timeout <min>] [--dry-run] [--comment <text>] [--json]

Planned switch with no data loss: starts the environment's ARC Region switch plan (haweb-<env>)
with action activate, mode graceful, target <region>, and follows it until it ends.

Options:
${TO_REGION}${SWITCH_OPTIONS}`,
  failover: `Usage: npm run region -- failover --to <region> [-c env=<name>] [--timeout <min>] [--dry-run] [--comment <text>] [--json]

Unplanned switch when a region is impaired: starts the environment's ARC Region switch plan
(haweb-<env>) with action activate, mode ungraceful, target <region>, and follows it.
Writes acknowledged by the lost region but not yet replicated may be lost (Aurora RPO ~1 s).

Options:
${TO_REGION}${SWITCH_OPTIONS}`,
  failback: `Usage: npm run region -- failback [-c env=<name>] [--timeout <min>] [--dry-run] [--comment <text>] [--json]

Switches back to the primary region of the config (graceful), once the data tier has
resynchronised there: check with "status" first.

Options:
${SWITCH_OPTIONS}`,
  rejoin: `Usage: npm run region -- rejoin --to <active region> [-c env=<name>] [--only <list>] [--allow-overwrite] [--dry-run] [--json]

Failback preparation, after a switchover or failover to <active region>: invokes the environment's
rejoin function in that region, which waits until the other region's Aurora cluster is a connected
secondary of the global cluster and its cache group an associated SECONDARY of the Global Datastore
(AWS re-adds them once the region is back), and replicates EFS from <active region> to the other
region's file system: each of those the environment has (a service uses it). It refuses, with the
fix, what cannot rejoin by itself (a detached cluster, a group that left the datastore). Idempotent:
run it again until it reports every component ok.

Options:
  --to <region>        The active region: one of the environment's two regions
  --only <list>        Comma-separated subset of ${COMPONENTS.join(',')} (default: every one the
                       environment has; naming one it does not have is a usage error)
  --allow-overwrite    Let EFS replication overwrite the other region's file system (needed once:
                       files written there after its last replication are lost; shared files only)
  --dry-run            The function reads only and reports what it would wait for or call
  --json               Print the function's result as JSON

Exit codes: 0 every component ok, 1 refused, incomplete or failed, 2 no credentials, 64 usage error.`,
  'check-deploy': `Usage: npm run region -- check-deploy [-c env=<name>] [--stack <name>]... [--assembly <dir>] [--json]

Whether deploying the synthesized templates now is safe. Run \`npx cdk synth -c env=<name>\` first.
Reads the deployed templates (CloudFormation GetTemplate) and the live roles of the data tier: the
Aurora writer, the Global Datastore primary, the EFS replication source, a Region switch in progress
and the plan's last execution. Not safe: a switch in progress or left unfinished; a stack not settled;
a change that replaces a stateful resource; a change to an Aurora, ElastiCache or EFS resource while
its live role is not the one the templates assume (the config's primary region holds each); a
change AWS makes only on the global resource; an Aurora upgrade of the writer before the secondary;
recorded IDs that differ from the live ones; a changed stack that reads a region that cannot be reached.

Options:
  --stack <name>     Check only this stack (repeatable), for example during an outage
  --assembly <dir>   The cloud assembly (default: cdk.out)
  --json             Print one JSON document

Exit codes: 0 safe, 1 not safe or cannot be checked, 2 no credentials, 64 usage error.`,
  'record-ids': `Usage: npm run region -- record-ids [-c env=<name>] [--context-file <file>] [--dry-run] [--json]

Records, under "haweb:<env>:recorded" in cdk.context.json: both regions' EFS file system IDs and the
Global Datastore ID (so no stack reads the other region when it deploys), the engine version and node
type the cache groups were created with (kept once recorded), and the Aurora global cluster's engine
version; each only when the environment has its component (shared files, session cache, database).
Run it after the first deploy and after an engine upgrade; commit cdk.context.json.

Options:
  --context-file <file>   Where to write (default: cdk.context.json of the project)
  --dry-run               Print what would be recorded; write nothing
  --json                  Print one JSON document

Exit codes: 0 recorded, 1 something could not be read (nothing written), 2 no credentials, 64 usage error.`,
};
