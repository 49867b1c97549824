/**
 * The `deployModel` step: deploys a registered model version to an online endpoint chosen by the first tag rule
 * it matches, waits for provisioning, then gives it its traffic share (canary). A failed deployment is rolled
 * back (traffic restored, the new deployment deleted or the updated one put back) and fails the step. A repeated
 * step finds the deployment already serving the version and deploys nothing. docs/automation-steps.md#deploymodel.
 *
 * Deps: `{ endpoints: EndpointService, deployments: DeploymentService }` (get/put/patch, get/list/put/delete),
 * `pollMs` (default 500) and `provisionTimeoutMs` (default 300 000: longer than the deployer's own start timeout).
 */
import {
  LINEAGE_PROPERTIES,
  StepError,
  type StepContext,
  type StepKind,
} from '../../core/automation-step.js';
import { AUTOMATION_PROPERTIES } from '../../core/automation-job.js';
import {
  deploymentBody,
  mainDeployment,
  modelKey,
  restoreBody,
  type DeploymentView,
} from '../../core/automation-deploy.js';
import {
  bagOf,
  canaryTraffic,
  defaultDeploymentName,
  DEPLOYMENT_NAME_RE,
  matchRule,
  parseDeployModelStep,
  sameTraffic,
  type DeployModelSpec,
  type DeployRule,
} from '../../core/automation-tags.js';
import { workspaceId } from '../../core/ml-events.js';
import type { DeploymentService } from '../../services/deployments.js';
import type { EndpointService } from '../../services/endpoints.js';
import { asStepError, isNotFound, pause, serviceCall } from './step-io.js';

export interface DeployModelDeps {
  endpoints: Pick<EndpointService, 'get' | 'put' | 'patch'>;
  deployments: Pick<DeploymentService, 'get' | 'list' | 'put' | 'delete'>;
  pollMs?: number;
  provisionTimeoutMs?: number;
}

type Traffic = Record<string, number>;

export function deployModelStep(deps: DeployModelDeps): StepKind<DeployModelSpec> {
  return {
    type: 'deployModel',
    parse: parseDeployModelStep,
    execute: (step, ctx) => new Deploy(deps, step, ctx).run(),
  };
}

class Deploy {
  private readonly base: string;
  private readonly pollMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly deps: DeployModelDeps,
    private readonly step: DeployModelSpec,
    private readonly ctx: StepContext,
  ) {
    this.base = ctx.baseUrl ?? '';
    this.pollMs = deps.pollMs ?? 500;
    this.timeoutMs = deps.provisionTimeoutMs ?? 300_000;
  }

  async run() {
    const { ctx, step } = this;
    const data = bagOf(ctx.event.data);
    const model = ctx.render(step.model.name).trim();
    const version = ctx.render(step.model.version).trim();
    if (!model || !version) {
      throw new StepError(
        'no model version: the event has no data.modelName/modelVersion; set model.name and model.version',
        false,
      );
    }
    const facts = { name: model, tags: bagOf(data.modelTags), properties: bagOf(data.modelProperties) };
    const index = matchRule(step.rules, facts);
    if (index < 0) {
      return {
        output: { skipped: 'no rule matched', model: `${model}:${version}` },
        summary: 'no rule matched',
      };
    }
    const rule = step.rules[index]!;
    const endpoint = this.name(ctx.render(rule.endpoint), `rules[${index}].endpoint`);
    const wanted = this.name(
      rule.deploymentName !== undefined
        ? ctx.render(rule.deploymentName)
        : defaultDeploymentName(model, version),
      `rules[${index}].deploymentName`,
    );
    const modelId = `${workspaceId(ctx.workspace)}/models/${model}/versions/${version}`;
    const key = modelKey(modelId, ctx.workspace);

    const before = await this.endpointTraffic(endpoint, rule);
    const list = (await serviceCall(`listing the deployments of ${endpoint}`, () =>
      this.deps.deployments.list(ctx.workspace, endpoint),
    )) as unknown as DeploymentView[];
    const same = (d: DeploymentView) => modelKey(d.properties.model, ctx.workspace) === key;
    const named = list.find((d) => d.name.toLowerCase() === wanted.toLowerCase());
    // Already deployed (or being deployed) by an earlier run of this step or anyone else: deploy nothing.
    const existing =
      (named && same(named) && named.properties.provisioningState !== 'Failed' ? named : undefined) ??
      list.find((d) => same(d) && d.properties.provisioningState === 'Succeeded');
    const name = existing?.name ?? wanted;
    const previous = named && !same(named) ? named : undefined; // an update in place: its old definition
    if (!existing) {
      const body = this.body(rule, index, list, before, modelId, previous);
      await serviceCall(`deploying ${model}:${version} as ${endpoint}/${name}`, () =>
        this.deps.deployments.put(ctx.workspace, endpoint, name, body),
      );
    }
    const state = await this.provisioned(endpoint, name);
    if (state.properties.provisioningState !== 'Succeeded') {
      const cause = state.properties.mlgrid?.error?.message ?? 'provisioning failed';
      throw await this.failed(
        rule,
        endpoint,
        name,
        before,
        previous,
        `deployment ${endpoint}/${name} of ${model}:${version} failed: ${cause}`,
      );
    }
    const current = await this.endpointTraffic(endpoint, rule);
    const traffic = canaryTraffic(current, name, rule.trafficPercent);
    if (!sameTraffic(current, traffic)) {
      try {
        await serviceCall(`setting the traffic of ${endpoint}`, () =>
          this.deps.endpoints.patch(ctx.workspace, endpoint, { properties: { traffic } }, this.base),
        );
      } catch (err) {
        throw await this.failed(
          rule,
          endpoint,
          name,
          before,
          previous,
          (err as Error).message,
          existing !== undefined,
        );
      }
    }
    return {
      output: {
        endpoint,
        deployment: name,
        model: `${model}:${version}`,
        provisioningState: 'Succeeded',
        traffic,
        reused: existing !== undefined,
        rule: index,
      },
      summary: `${existing ? 'kept' : 'deployed'} ${model}:${version} on ${endpoint}/${name} (${traffic[name.toLowerCase()] ?? 0}% of traffic)`,
    };
  }

  private name(rendered: string, field: string): string {
    const n = rendered.trim();
    if (!DEPLOYMENT_NAME_RE.test(n)) {
      throw new StepError(
        `${field} is '${n}': names have 3-32 letters, digits and hyphens, start with a letter and end alphanumeric`,
        false,
      );
    }
    return n;
  }

  /** The endpoint's traffic split, creating the endpoint first when the rule allows it. */
  private async endpointTraffic(endpoint: string, rule: DeployRule): Promise<Traffic> {
    const { ctx, deps } = this;
    try {
      const ep = (await deps.endpoints.get(ctx.workspace, endpoint, this.base)) as {
        properties: { traffic?: Traffic };
      };
      return { ...(ep.properties.traffic ?? {}) };
    } catch (err) {
      if (!isNotFound(err, 'online endpoint')) throw asStepError(err, `reading endpoint ${endpoint}`);
      if (!rule.createEndpointIfMissing) {
        throw new StepError(
          `endpoint ${endpoint} does not exist (set createEndpointIfMissing to create it)`,
          false,
        );
      }
      await serviceCall(`creating endpoint ${endpoint}`, () =>
        deps.endpoints.put(
          ctx.workspace,
          endpoint,
          { location: 'local', properties: { authMode: 'Key' } },
          this.base,
        ),
      );
      return {};
    }
  }

  /** Code from the rule, or copied from `from`, the deployment updated in place, or the endpoint's main one. */
  private body(
    rule: DeployRule,
    index: number,
    list: DeploymentView[],
    traffic: Traffic,
    modelId: string,
    previous: DeploymentView | undefined,
  ) {
    const { ctx } = this;
    let template: DeploymentView | undefined;
    if (rule.from !== undefined) {
      const from = ctx.render(rule.from).trim();
      template = list.find((d) => d.name.toLowerCase() === from.toLowerCase());
      if (!template)
        throw new StepError(`rules[${index}].from: the endpoint has no deployment '${from}'`, false);
    } else if (!rule.codeConfiguration) {
      template = previous ?? mainDeployment(list, traffic);
      if (!template) {
        throw new StepError(
          `rules[${index}]: the endpoint has no deployment to copy the scoring code from; give codeConfiguration`,
          false,
        );
      }
    }
    const env = Object.fromEntries(
      Object.entries(rule.environmentVariables).map(([k, v]) => [k, ctx.render(v)]),
    );
    return deploymentBody({
      ...(template ? { template } : {}),
      ...(rule.codeConfiguration
        ? {
            code: {
              codeId: ctx.render(rule.codeConfiguration.codeId),
              scoringScript: ctx.render(rule.codeConfiguration.scoringScript),
            },
          }
        : {}),
      ...(rule.environmentId !== undefined ? { environmentId: ctx.render(rule.environmentId) } : {}),
      ...(rule.instanceType !== undefined ? { instanceType: ctx.render(rule.instanceType) } : {}),
      environmentVariables: env,
      modelId,
      properties: {
        [LINEAGE_PROPERTIES.correlationId]: ctx.lineage.correlationId,
        [LINEAGE_PROPERTIES.causationId]: ctx.lineage.causationId,
        [AUTOMATION_PROPERTIES.automation]: ctx.automation.name,
        [AUTOMATION_PROPERTIES.runId]: ctx.runId,
      },
    });
  }

  /** Waits until the deployment is Succeeded or Failed; a timeout or an abort is retryable (a retry waits again). */
  private async provisioned(endpoint: string, name: string): Promise<DeploymentView> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      const d = (await serviceCall(`reading deployment ${endpoint}/${name}`, () =>
        this.deps.deployments.get(this.ctx.workspace, endpoint, name),
      )) as unknown as DeploymentView;
      const s = d.properties.provisioningState;
      if (s === 'Succeeded' || s === 'Failed') return d;
      if (this.ctx.signal.aborted || Date.now() > end) {
        throw new StepError(`deployment ${endpoint}/${name} is still ${s}; a retry waits again`, true);
      }
      await pause(this.pollMs, this.ctx.signal);
    }
  }

  /**
   * Rollback (unless the rule turned it off): the traffic split as it was before the step, and the deployment
   * deleted (a new one) or put back as it was (one updated in place). Returns the step's failure.
   */
  private async failed(
    rule: DeployRule,
    endpoint: string,
    name: string,
    before: Traffic,
    previous: DeploymentView | undefined,
    message: string,
    keepDeployment = false,
  ): Promise<StepError> {
    if (!rule.rollbackOnFailure)
      return new StepError(`${message} (no rollback: rollbackOnFailure is false)`, false);
    const { ctx, deps } = this;
    const done: string[] = [];
    try {
      const ep = (await deps.endpoints.get(ctx.workspace, endpoint, this.base)) as {
        properties: { traffic?: Traffic };
      };
      if (!sameTraffic(ep.properties.traffic ?? {}, before)) {
        await deps.endpoints.patch(ctx.workspace, endpoint, { properties: { traffic: before } }, this.base);
      }
      done.push(`traffic restored to ${JSON.stringify(before)}`);
      if (previous) {
        await deps.deployments.put(ctx.workspace, endpoint, name, restoreBody(previous));
        done.push(`${name} put back to model ${previous.properties.model}`);
      } else if (!keepDeployment) {
        await deps.deployments.delete(ctx.workspace, endpoint, name);
        done.push(`${name} deleted`);
      }
    } catch (err) {
      return new StepError(
        `${message}; rollback incomplete (${done.join(', ') || 'nothing done'}): ${(err as Error).message}`,
        false,
      );
    }
    return new StepError(`${message}; rolled back: ${done.join(', ')}`, false);
  }
}
