/**
 * Shared by the infrastructure tests: apps built like bin/app.ts (cdk.json's context, cdk-nag
 * registered), templates with asset hashes masked for snapshots, and the IAM statements of a template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import nag from 'cdk-nag';
import { configFromContext } from '../lib/config.js';
import { buildShelfwatch, checkWithCdkNag, type ShelfwatchStacks } from '../lib/shelfwatch-app.js';

const outdirs: string[] = [];

/**
 * A fresh folder for an app's cloud assembly (CDK would otherwise leave a cdk.outXXXX in the system's
 * temporary folder for every synthesis), removed by {@link removeTestOutdirs}.
 *
 * @example
 * ```ts
 * const app = new App({ outdir: testOutdir() });
 * afterAll(removeTestOutdirs);
 * ```
 */
export function testOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-cdk-test-'));
  outdirs.push(dir);
  return dir;
}

/**
 * Removes the folders {@link testOutdir} made in this test file's process.
 *
 * @example
 * ```ts
 * afterAll(removeTestOutdirs);
 * ```
 */
export function removeTestOutdirs(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * cdk.json's context: the feature flags `cdk synth` runs with.
 *
 * @example
 * ```ts
 * const app = new App({ context: cdkJsonContext() });
 * ```
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * An app as bin/app.ts builds it, with `context` on top of cdk.json's. CloudFormation's own schema
 * validation at synthesis (15 s of CPU per app here) is left to test/synth.test.ts, which runs the real
 * `cdk synth`; cdk-nag runs as in bin/app.ts.
 *
 * @example
 * ```ts
 * const { app, stacks } = buildTestApp({ target: 'lambda' });
 * ```
 */
export function buildTestApp(context: Record<string, unknown> = {}): { app: App; stacks: ShelfwatchStacks } {
  const app = new App({
    context: { ...cdkJsonContext(), ...context },
    outdir: testOutdir(),
    builtinCloudFormationValidation: false,
  });
  const stacks = buildShelfwatch(app, configFromContext(app.node));
  checkWithCdkNag(app);
  return { app, stacks };
}

/**
 * The unacknowledged cdk-nag findings, one line each, to read in a failed assertion.
 *
 * @example
 * ```ts
 * expect(nagFindings(app)).toEqual([]);
 * ```
 */
export function nagFindings(app: App): string[] {
  const report = new nag.AwsSolutionsChecks(undefined, { verbose: false }).validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`),
  );
}

/**
 * Every acknowledgment (`Validations.of(x).acknowledge`) in the app: construct path, rule id, reason.
 *
 * @example
 * ```ts
 * acknowledgments(app); // [{ path: 'ShelfwatchData/Artifacts/AccessLogs', id: 'AwsSolutions-S1', reason: '…' }]
 * ```
 */
export function acknowledgments(app: App): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: key.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

/**
 * cdk-nag's acknowledgments in the app as sorted `<construct path> <rule id>` lines, after checking that
 * each says why in a sentence (not "ok", not the rule's own id) and sits on a construct, not on a stack
 * or the app. CDK's own acknowledgments (its CloudFormation-Validate rules) are left out.
 *
 * @throws {Error} naming the acknowledgment that breaks one of those rules.
 * @example
 * ```ts
 * expect(cdkNagAcknowledgments(app)).toEqual(['ShelfwatchLambda/OnFailure AwsSolutions-SQS3']);
 * ```
 */
export function cdkNagAcknowledgments(app: App): string[] {
  const ours = acknowledgments(app).filter((a) => a.id.startsWith('AwsSolutions-'));
  for (const a of ours) {
    if (a.reason.length <= 60 || a.reason.includes(a.id)) {
      throw new Error(`${a.path} ${a.id}: the reason does not say why: ${JSON.stringify(a.reason)}`);
    }
    if (!a.path.includes('/')) throw new Error(`${a.path} ${a.id}: acknowledged for a whole stack`);
  }
  return ours.map((a) => `${a.path} ${a.id}`).sort();
}

/**
 * CDK's own warning and error annotations on every stack (a misused construct, an ignored rule).
 *
 * @example
 * ```ts
 * expect(warningsAndErrors(Object.values(stacks))).toEqual([]);
 * ```
 */
export function warningsAndErrors(stacks: readonly Stack[]): string[] {
  return stacks.flatMap((stack) => {
    const annotations = Annotations.fromStack(stack);
    return [
      ...annotations.findWarning('*', Match.anyValue()),
      ...annotations.findError('*', Match.anyValue()),
    ].map((m) => `${m.level} at ${m.id}: ${JSON.stringify(m.entry.data)}`);
  });
}

/**
 * The template as JSON text with asset hashes masked, so that a snapshot survives a source change.
 *
 * @example
 * ```ts
 * await expect(stableTemplate(stack)).toMatchFileSnapshot('__snapshots__/x.template.json');
 * ```
 */
export function stableTemplate(stack: Stack): string {
  const json = JSON.stringify(Template.fromStack(stack).toJSON(), null, 2);
  return `${json.replace(/[0-9a-f]{64}/g, '<asset-hash>')}\n`;
}

/**
 * A statement of an IAM policy (identity or resource policy) in a template.
 *
 * @example
 * ```ts
 * const s: PolicyStatementJson = { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: 'Topic' } };
 * ```
 */
export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/**
 * Every statement of every `AWS::IAM::Policy` in the template, with the policy's logical id.
 *
 * @example
 * ```ts
 * const actions = identityStatements(template).flatMap(({ statement }) => actionsOf(statement));
 * ```
 */
export function identityStatements(
  template: Template,
): Array<{ policy: string; statement: PolicyStatementJson }> {
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }
  >;
  return Object.entries(policies).flatMap(([policy, p]) =>
    p.Properties.PolicyDocument.Statement.map((statement) => ({ policy, statement })),
  );
}

/**
 * A statement's actions as a list.
 *
 * @example
 * ```ts
 * actionsOf({ Effect: 'Allow', Action: 'sns:Publish' }); // ['sns:Publish']
 * ```
 */
export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/**
 * A statement's resources as a list.
 *
 * @example
 * ```ts
 * resourcesOf({ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }); // ['*']
 * ```
 */
export function resourcesOf(statement: PolicyStatementJson): unknown[] {
  if (statement.Resource === undefined) return [];
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/**
 * A container's or function's environment from a template, with every deploy-time value (a Ref,
 * GetAtt, stack output) replaced by an example of what CloudFormation would put there, so that the
 * job's real configuration loader can read it. A token in a variable this table does not know fails
 * the test: add an example for it.
 *
 * @example
 * ```ts
 * loadRunConfig({ env: withExampleValues(environmentOf(container)) });
 * ```
 */
export function withExampleValues(env: Record<string, unknown>): Record<string, string> {
  const examples: Array<[RegExp, string]> = [
    [/__REGION$/, 'eu-west-1'],
    [/^SHELFWATCH_SOURCE__STREAM$/, 'ShelfwatchData-InventoryStream1A2B3C4D-x1y2z3'],
    [/^SHELFWATCH_SOURCE__APPLICATION_NAME$/, 'ShelfwatchData-TablesLeases8A459FA5-1Q2W3E4R5T6Y'],
    [/^SHELFWATCH_STORE__TABLE_NAME$/, 'ShelfwatchData-TablesState705891C2-1Q2W3E4R5T6Y'],
    [/^SHELFWATCH_STORE__AUDIT_TABLE_NAME$/, 'ShelfwatchData-TablesAuditCEFF9E0F-1Q2W3E4R5T6Y'],
    [/__TOPIC_ARN$/, 'arn:aws:sns:eu-west-1:123456789012:ShelfwatchAlerts-AlertsTopic1A2B3C4D-x1y2z3'],
    [/^SHELFWATCH_STORE__HOST$/, 'shelfwatchdata-mysql.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com'],
    [/^SHELFWATCH_STORE__PORT$/, '3306'],
  ];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') {
      out[name] = value;
      continue;
    }
    const example = examples.find(([pattern]) => pattern.test(name));
    if (!example) throw new Error(`no example value for ${name} = ${JSON.stringify(value)}`);
    out[name] = example[1];
  }
  return out;
}
