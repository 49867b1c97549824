import { describe, expect, it } from 'vitest';
import { generateJobName, jobBodyFromYaml } from './ml-job-spec.js';
import { applySets, parseSpec, type SpecContext } from './ml-yaml.js';

const ctx: SpecContext = {
  source: 'job.yml',
  baseDir: '/work/project',
  isDir: (p) => ['/work/project/src', '/data/folder'].includes(p),
  exists: (p) => ['/work/project/data/train.csv', '/data/folder'].includes(p),
};
const map = (yaml: string, c: SpecContext = ctx) => jobBodyFromYaml(parseSpec(yaml, 'job.yml'), c);

const FULL = `
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
name: train-1
display_name: Train
experiment_name: churn
description: trains
tags: {team: ml, rev: 2}
command: python train.py --data \${{inputs.training_data}} --lr \${{inputs.lr}} --out \${{outputs.model}}
code: ./src
environment: azureml:AzureML-sklearn-1.0:1
environment_variables:
  MODE: fast
  RETRIES: 3
inputs:
  lr: 0.01
  flag: true
  training_data:
    type: uri_file
    path: ./data/train.csv
  folder:
    path: file:///data/folder
    mode: ro_mount
  remote:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/x/
outputs:
  model:
    type: uri_folder
  report:
    type: uri_file
    path: ./out/report.txt
    mode: upload
`;

describe('jobBodyFromYaml', () => {
  it("maps the az ml command job subset to Azure's JobBase body", () => {
    expect(map(FULL)).toEqual({
      name: 'train-1',
      notes: [],
      body: {
        properties: {
          jobType: 'Command',
          command:
            'python train.py --data ${{inputs.training_data}} --lr ${{inputs.lr}} --out ${{outputs.model}}',
          environmentId: 'azureml:AzureML-sklearn-1.0:1',
          displayName: 'Train',
          experimentName: 'churn',
          description: 'trains',
          tags: { team: 'ml', rev: '2' },
          environmentVariables: { MODE: 'fast', RETRIES: '3' },
          codeId: '/work/project/src',
          inputs: {
            lr: { jobInputType: 'literal', value: '0.01' },
            flag: { jobInputType: 'literal', value: 'true' },
            training_data: { jobInputType: 'uri_file', uri: '/work/project/data/train.csv' },
            folder: { jobInputType: 'uri_folder', uri: '/data/folder', mode: 'ro_mount' },
            remote: { jobInputType: 'uri_folder', uri: 'azureml://datastores/workspaceblobstore/paths/x/' },
          },
          outputs: {
            model: { jobOutputType: 'uri_folder' },
            report: { jobOutputType: 'uri_file', uri: '/work/project/out/report.txt', mode: 'upload' },
          },
        },
      },
    });
  });

  it('needs only command and environment; type defaults to command', () => {
    expect(map('command: echo hi\nenvironment: azureml:e:1\n')).toEqual({
      notes: [],
      body: { properties: { jobType: 'Command', command: 'echo hi', environmentId: 'azureml:e:1' } },
    });
  });

  it('records compute and ignores resources, with notes', () => {
    const r = map(
      'command: x\nenvironment: e\ncompute: azureml:cpu-cluster\nresources: {instance_count: 1}\n',
    );
    expect(r.body.properties.computeId).toBe('azureml:cpu-cluster');
    expect(r.notes).toEqual([
      "compute 'azureml:cpu-cluster' is recorded only: every mlgrid job runs on the mlgrid host",
      'resources are ignored: the command runs once, on the mlgrid host',
    ]);
  });

  it.each([
    ['command: x\nenvironment: e\ncolour: blue\n', /^job\.yml: colour: unknown key \(known: \$schema, type/],
    [
      'command: x\nenvironment: e\ndistribution: {type: pytorch}\n',
      /^job\.yml: distribution: distributed jobs/,
    ],
    ['command: x\nenvironment: e\nlimits: {timeout: 60}\n', /^job\.yml: limits: is not supported yet/],
    ['type: sweep\ncommand: x\nenvironment: e\n', /^job\.yml: type: 'sweep' jobs are not supported/],
    ['environment: e\n', /^job\.yml: command: is required$/],
    ['command: x\n', /^job\.yml: environment: is required/],
    ['command: x\nenvironment: {image: python:3.11}\n', /^job\.yml: environment: inline environments/],
    [
      'command: x\nenvironment: e\ncode: ./missing\n',
      /^job\.yml: code: \/work\/project\/missing is not a folder$/,
    ],
    ['command: x\nenvironment: e\ncode: azureml:code:1\n', /^job\.yml: code: 'azureml:code:1': code assets/],
    [
      'command: x\nenvironment: e\ninputs: {d: {type: csv, path: /x}}\n',
      /^job\.yml: inputs\.d\.type: must be one of/,
    ],
    [
      'command: x\nenvironment: e\ninputs: {d: {type: uri_file}}\n',
      /^job\.yml: inputs\.d\.path: is required$/,
    ],
    [
      'command: x\nenvironment: e\ninputs: {d: {path: ./nope.csv}}\n',
      /inputs\.d\.path: \/work\/project\/nope\.csv does not exist/,
    ],
    [
      'command: x\nenvironment: e\ninputs: {d: {path: /x, size: 1}}\n',
      /^job\.yml: inputs\.d\.size: unknown key/,
    ],
    ['command: x\nenvironment: e\ninputs: {d: [1]}\n', /^job\.yml: inputs\.d: must be a string$/],
    ['command: x\nenvironment: e\ntags: [a]\n', /^job\.yml: tags: must be a mapping$/],
    [
      'command: x\nenvironment: e\noutputs: {m: {type: literal}}\n',
      /^job\.yml: outputs\.m\.type: must be one of/,
    ],
  ])('refuses %j', (yaml, message) => {
    expect(() => map(yaml)).toThrow(message);
  });
});

describe('parseSpec and --set', () => {
  it('reports YAML syntax errors and non-mappings with the file name', () => {
    expect(() => parseSpec('a: [1', 'job.yml')).toThrow(/^job\.yml: not valid YAML: /);
    expect(() => parseSpec('a: 1\na: 2', 'job.yml')).toThrow(
      /^job\.yml: not valid YAML: Map keys must be unique/,
    );
    expect(() => parseSpec('- a\n- b', 'job.yml')).toThrow('job.yml: must be a YAML mapping');
    expect(parseSpec('', 'job.yml')).toEqual({});
  });
  it('--set reaches into lists by index, as steps.0.x or az-style steps[0].x, and refuses a bad index', () => {
    const doc = { steps: [{ name: 'a', job: { code: '.' } }, { name: 'b' }] };
    const out = applySets(doc, ['steps.0.job.code=/abs/path', 'steps[1].name=c', 'steps[2]={name: d}']);
    expect(out).toEqual({ steps: [{ name: 'a', job: { code: '/abs/path' } }, { name: 'c' }, { name: 'd' }] });
    expect(doc.steps[0]!.job!.code).toBe('.');
    expect(() => applySets(doc, ['steps.5.name=x'])).toThrow(/'steps' is a list of 2: '5' is not an index/);
    expect(() => applySets(doc, ['steps.x=1'])).toThrow(/is a list of 2/);
  });

  it('--set overrides nested keys, reading values as YAML, without changing the original', () => {
    const doc = parseSpec('command: x\ninputs: {lr: 0.1}\n', 'job.yml');
    const out = applySets(doc, [
      'inputs.lr=0.5',
      'environment_variables.A=b=c',
      'display_name=',
      'tags.n=[1]',
    ]);
    expect(out).toEqual({
      command: 'x',
      inputs: { lr: 0.5 },
      environment_variables: { A: 'b=c' },
      display_name: '',
      tags: { n: [1] },
    });
    expect(doc.inputs).toEqual({ lr: 0.1 });
    expect(() => applySets(doc, ['novalue'])).toThrow(/--set: 'novalue' is not key=value/);
    expect(() => applySets(doc, ['a..b=1'])).toThrow(/--set/);
  });
});

describe('generateJobName', () => {
  it('gives az-style names valid as job names', () => {
    const names = new Set(Array.from({ length: 50 }, () => generateJobName()));
    expect(names.size).toBe(50);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+_[a-z0-9]{10}$/);
    expect(generateJobName(() => Buffer.from([0, 1, 35, 36, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(
      'amber_badger_z000000000',
    );
  });
});
