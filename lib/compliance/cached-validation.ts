/**
 * A policy validation plugin that evaluates each template at most once per content. A rule set is a pure
 * function of the template it reads (and of its own version and rules), so the findings of a template whose
 * bytes did not change are the findings it had: they are kept in the build cache (`lib/bundling.ts`
 * `cacheDir()`, safe to delete) under a key over everything the result depends on, and only the templates
 * without an entry are handed to the wrapped plugin. Nothing is skipped: every template is evaluated by the
 * wrapped plugin once, and a changed template, rule, plugin version or account/region is evaluated again.
 */
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyValidationStack,
  PolicyViolatingResource,
  PolicyViolation,
} from 'aws-cdk-lib';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cacheDir } from '../bundling';

/** The findings of one template, as stored: template paths are left out (they change with the output folder). */
interface TemplateFindings {
  readonly success: boolean;
  readonly violations: {
    readonly ruleName: string;
    readonly description: string;
    readonly fix?: string;
    readonly severity?: string;
    readonly ruleMetadata?: Record<string, string>;
    readonly violatingResources: Omit<PolicyViolatingResource, 'templatePath'>[];
  }[];
}

/** Properties of {@link CachedValidation}. */
export interface CachedValidationProps {
  /**
   * Everything besides a template's bytes, its stack's construct path, account and region that the wrapped
   * plugin's result depends on (its version, the contents of its rules, its options), as one string.
   */
  readonly identity: string;
  /**
   * Folder of the cache entries.
   * @default `<cacheDir()>/validation/<plugin name>`
   */
  readonly folder?: string;
}

/** A validation plugin that wraps another and evaluates each template at most once per content. */
export class CachedValidation implements IPolicyValidationPlugin {
  /** The wrapped plugin's name: acknowledgements and reports are unchanged. */
  public readonly name: string;
  /** The wrapped plugin's version. */
  public readonly version?: string;
  /** The wrapped plugin's rule IDs. */
  public readonly ruleIds?: string[];
  /** Templates of the last `validate` call that were evaluated (not found in the cache), by template path. */
  public lastEvaluated: string[] = [];
  private readonly folder: string;

  constructor(
    private readonly inner: IPolicyValidationPlugin,
    private readonly props: CachedValidationProps,
  ) {
    this.name = inner.name;
    this.version = inner.version;
    this.ruleIds = inner.ruleIds;
    this.folder = props.folder ?? path.join(cacheDir(), 'validation', inner.name.replace(/[^A-Za-z0-9-]/g, '_'));
  }

  /** The cache key of one template: SHA-256 over the identity, the stack's path, account and region and the template's bytes. */
  public keyOf(stack: PolicyValidationStack): string {
    return createHash('sha256')
      .update(JSON.stringify([this.name, this.props.identity, stack.stackConstructPath, stack.accountId, stack.region]))
      .update('\0')
      .update(fs.readFileSync(stack.templatePath))
      .digest('hex');
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const keys = new Map(context.stackTemplates.map((s) => [s.templatePath, this.keyOf(s)]));
    const found = new Map<string, TemplateFindings>();
    for (const [templatePath, key] of keys) {
      const entry = this.read(key);
      if (entry) found.set(templatePath, entry);
    }
    const missing = context.stackTemplates.filter((s) => !found.has(s.templatePath));
    this.lastEvaluated = missing.map((s) => s.templatePath);
    if (missing.length > 0) {
      const report = this.inner.validate({
        templatePaths: missing.map((s) => s.templatePath),
        stackTemplates: missing,
        appConstruct: context.appConstruct,
        ...(new Set(missing.map((s) => s.accountId)).size === 1 ? { accountId: missing[0].accountId } : {}),
        ...(new Set(missing.map((s) => s.region)).size === 1 ? { region: missing[0].region } : {}),
      });
      for (const s of missing) {
        const findings = findingsOf(report, s.templatePath, missing.length === 1);
        this.write(keys.get(s.templatePath)!, findings);
        found.set(s.templatePath, findings);
      }
    }
    return merge(context.stackTemplates.map((s) => [s.templatePath, found.get(s.templatePath)!]));
  }

  private read(key: string): TemplateFindings | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.folder, `${key}.json`), 'utf8')) as TemplateFindings;
    } catch {
      return undefined;
    }
  }

  private write(key: string, findings: TemplateFindings): void {
    fs.mkdirSync(this.folder, { recursive: true });
    // Written whole, then renamed: a reader never sees half an entry.
    const tmp = path.join(this.folder, `${key}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(findings));
    fs.renameSync(tmp, path.join(this.folder, `${key}.json`));
  }
}

/**
 * The part of a report that is about one template. A violating resource without a template path belongs to
 * the only template evaluated, and is refused otherwise (it could not be told apart).
 */
function findingsOf(report: PolicyValidationPluginReport, templatePath: string, only: boolean): TemplateFindings {
  const violations = report.violations.flatMap((v) => {
    const resources = v.violatingResources.filter((r) => {
      if (r.templatePath === undefined && !only) {
        throw new Error(`${v.ruleName}: a finding names no template, so its template cannot be told apart`);
      }
      return r.templatePath === undefined || path.resolve(r.templatePath) === path.resolve(templatePath);
    });
    if (resources.length === 0) return [];
    return [
      {
        ruleName: v.ruleName,
        description: v.description,
        fix: v.fix,
        severity: v.severity,
        ruleMetadata: v.ruleMetadata,
        violatingResources: resources.map((r) => ({
          resourceLogicalId: r.resourceLogicalId,
          constructPath: r.constructPath,
          locations: r.locations,
        })),
      },
    ];
  });
  // The wrapped plugin's verdict is about all templates it saw; per template, a template passes when none of
  // its findings is an error (the plugins here fail on any finding that is not a warning or less).
  const blocking = violations.some((v) => !['warning', 'informational', 'info', 'debug'].includes(v.severity ?? ''));
  return { success: report.success || !blocking, violations };
}

/** One report from the findings of several templates, grouped by rule and message as the plugins group them. */
function merge(entries: readonly [string, TemplateFindings][]): PolicyValidationPluginReport {
  const violations: PolicyViolation[] = [];
  const byKey = new Map<string, PolicyViolation>();
  for (const [templatePath, findings] of entries) {
    for (const v of findings.violations) {
      const key = JSON.stringify([v.ruleName, v.severity, v.description, v.fix]);
      const resources = v.violatingResources.map((r) => ({ ...r, templatePath }));
      const existing = byKey.get(key);
      if (existing) {
        existing.violatingResources.push(...resources);
        continue;
      }
      const merged: PolicyViolation = { ...v, violatingResources: resources };
      byKey.set(key, merged);
      violations.push(merged);
    }
  }
  return { success: entries.every(([, f]) => f.success), violations };
}
