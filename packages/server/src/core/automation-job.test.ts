import { describe, expect, it } from 'vitest';
import {
  checkJobTemplates,
  fillJobTemplate,
  jobNameFor,
  parseSubmitJobStep,
  shellQuote,
  withLineage,
} from './automation-job.js';
import { renderTemplate } from './automation-template.js';
import type { MlgridError } from './errors.js';
import { validateJobName } from './job.js';

const job = {
  properties: {
    jobType: 'Command',
    command:
      'python train.py --data ${{inputs.data}} --monitor {{data.dataDriftName}} --out ${{outputs.model}}',
    environmentId: 'azureml:sklearn:1',
    environmentVariables: { TARGET: '{{data.targetDatasetId}}' },
    displayName: 'retrain {{data.dataDriftName}}',
    inputs: { data: { jobInputType: 'uri_folder', uri: '{{data.targetDatasetId}}' } },
    outputs: { model: { jobOutputType: 'uri_folder' } },
  },
};

describe('parseSubmitJobStep', () => {
  it('accepts a Command job template and defaults wait to false', () => {
    const s = parseSubmitJobStep({ job }, 'steps[0]');
    expect(s.wait).toBe(false);
    expect(s.name).toBeUndefined();
    expect(parseSubmitJobStep({ job, wait: true, name: 'retrain-{{data.runId}}' }, 'p')).toMatchObject({
      wait: true,
      name: 'retrain-{{data.runId}}',
    });
  });

  it('refuses Pipeline jobs with a clear message, and what is wrong whatever the event', () => {
    const at = (raw: Record<string, unknown>) => {
      try {
        parseSubmitJobStep(raw, 'steps[1]');
      } catch (err) {
        return `${(err as MlgridError).target}: ${(err as MlgridError).details[0]?.message}`;
      }
      return 'accepted';
    };
    const p = job.properties;
    expect(at({ job: { properties: { ...p, jobType: 'Pipeline' } } })).toMatch(
      /^steps\[1\]\.job\.properties\.jobType: Pipeline jobs are not supported: mlgrid runs Command jobs/,
    );
    expect(at({})).toMatch(/^steps\[1\]\.job:/);
    expect(at({ job: { properties: { ...p, command: undefined } } })).toMatch(
      /^steps\[1\]\.job\.properties\.command: is required/,
    );
    expect(at({ job: { properties: { ...p, command: 'run ${{inputs.nope}}' } } })).toMatch(
      /^steps\[1\]\.job\.properties\.command: refers to inputs\.nope/,
    );
    expect(at({ job: { properties: { ...p, command: 'run {{bogus.x}}' } } })).toMatch(/unknown name 'bogus'/);
    // A field filled from the event is checked when the job is submitted, not here.
    expect(at({ job: { properties: { ...p, codeId: '{{data.codeFolder}}' } } })).toBe('accepted');
    expect(at({ job: { properties: { ...p, codeId: 'relative/folder' } } })).toMatch(
      /^steps\[1\]\.job\.properties\.codeId: must be an absolute path/,
    );
    expect(at({ job, wait: 'yes' })).toMatch(/^steps\[1\]\.wait/);
  });
});

describe('checkJobTemplates', () => {
  it("leaves Azure's ${{inputs.x}} to the job and checks mlgrid's placeholders", () => {
    expect(() => checkJobTemplates({ job }, 'steps[0]', new Set())).not.toThrow();
    const bad = { job: { properties: { ...job.properties, command: 'x ${{inputs.data}} {{steps.a.b}}' } } };
    expect(() => checkJobTemplates(bad, 'steps[0]', new Set())).toThrow(
      /steps\[0\]\.job\.properties\.command/,
    );
    expect(() => checkJobTemplates(bad, 'steps[0]', new Set(['a']))).not.toThrow();
  });
});

describe('fillJobTemplate', () => {
  const scope = {
    data: { dataDriftName: "drift'; rm -rf / #", targetDatasetId: '/data/target v2' },
  };
  const render = (t: string) => renderTemplate(t, scope);

  it('quotes event values in the command for /bin/sh and keeps Azure placeholders', () => {
    const out = fillJobTemplate(job, render) as typeof job;
    expect(out.properties.command).toBe(
      `python train.py --data \${{inputs.data}} --monitor 'drift'\\''; rm -rf / #' --out \${{outputs.model}}`,
    );
  });

  it('fills other strings as they are (no shell involved), leaving keys alone', () => {
    const out = fillJobTemplate(job, render) as typeof job;
    expect(out.properties.environmentVariables).toEqual({ TARGET: '/data/target v2' });
    expect(out.properties.inputs.data.uri).toBe('/data/target v2');
    expect(out.properties.displayName).toBe("retrain drift'; rm -rf / #");
    expect(job.properties.command).toContain('{{data.dataDriftName}}'); // the template is not changed
  });

  it('shellQuote survives a round trip through sh semantics', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe(`''`);
  });
});

describe('jobNameFor', () => {
  it('is a valid job name, the same for the same key, different for another', () => {
    const a = jobNameFor('retrain on drift!', 'auto-1/run-7/step-0');
    expect(() => validateJobName(a)).not.toThrow();
    expect(a).toMatch(/^retrain-on-drift--[0-9a-f]{16}$/);
    expect(jobNameFor('retrain on drift!', 'auto-1/run-7/step-0')).toBe(a);
    expect(jobNameFor('retrain on drift!', 'auto-1/run-8/step-0')).not.toBe(a);
    expect(jobNameFor('___', 'k')).toMatch(/^automation-/);
  });
});

describe('withLineage', () => {
  it('sets the lineage properties, leaving the environment to the server', () => {
    const body = {
      properties: { ...job.properties, environmentVariables: { MLGRID_CORRELATION_ID: 'forged' } },
    };
    const out = withLineage(
      body,
      { correlationId: 'c-1', causationId: 'e-9' },
      { automation: 'a', runId: 'r' },
    ) as {
      properties: { properties: Record<string, string>; environmentVariables: Record<string, string> };
    };
    expect(out.properties.properties).toEqual({
      'mlgrid.correlationId': 'c-1',
      'mlgrid.causationId': 'e-9',
      'mlgrid.automation': 'a',
      'mlgrid.automationRunId': 'r',
    });
    expect(out.properties.environmentVariables).toEqual({ MLGRID_CORRELATION_ID: 'forged' });
    expect(body.properties.environmentVariables.MLGRID_CORRELATION_ID).toBe('forged'); // input not mutated
  });
});
