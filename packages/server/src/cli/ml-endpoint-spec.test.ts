import { describe, expect, it } from 'vitest';
import {
  deploymentBodyFromYaml,
  endpointBodyFromYaml,
  isoSeconds,
  modelVersionId,
  parseModelRef,
} from './ml-endpoint-spec.js';
import { parseSpec, type SpecContext } from './ml-yaml.js';

const ctx: SpecContext = {
  source: 'deploy.yml',
  baseDir: '/work/project',
  isDir: (p) => p === '/work/project/onlinescoring',
  exists: (p) => p === '/work/project/onlinescoring/score.py',
};
const endpoint = (yaml: string) => endpointBodyFromYaml(parseSpec(yaml, 'deploy.yml'), ctx, 'local');
const deployment = (yaml: string) => deploymentBodyFromYaml(parseSpec(yaml, 'deploy.yml'), ctx, 'local');

describe('endpointBodyFromYaml', () => {
  it("maps the managed online endpoint YAML to Azure's OnlineEndpoint body", () => {
    const yaml = `
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json
name: my-endpoint
auth_mode: aml_token
description: churn scoring
tags: {team: ml}
traffic: {blue: 90, green: 10}
identity: {type: system_assigned}
public_network_access: disabled
`;
    expect(endpoint(yaml)).toEqual({
      name: 'my-endpoint',
      body: {
        location: 'local',
        tags: { team: 'ml' },
        identity: { type: 'SystemAssigned' },
        properties: {
          authMode: 'AMLToken',
          description: 'churn scoring',
          traffic: { blue: 90, green: 10 },
          publicNetworkAccess: 'Disabled',
        },
      },
    });
  });
  it('defaults to key auth; accepts the REST spelling too', () => {
    expect(endpoint('name: e').body).toEqual({ location: 'local', properties: { authMode: 'Key' } });
    expect(endpoint('auth_mode: AMLToken').body.properties).toEqual({ authMode: 'AMLToken' });
  });
  it.each([
    ['auth_mode: password', /^deploy\.yml: auth_mode: must be one of key, aml_token, aad_token$/],
    ['traffic: {blue: 150}', /^deploy\.yml: traffic\.blue: must be an integer from 0 to 100$/],
    ['compute: azureml:k8s', /^deploy\.yml: compute: Kubernetes online endpoints are not supported/],
    ['scoring_uri: http://x', /^deploy\.yml: scoring_uri: unknown key/],
    [
      'identity: {type: user_assigned}',
      /^deploy\.yml: identity\.type: must be one of system_assigned, none$/,
    ],
  ])('refuses %j', (yaml, message) => {
    expect(() => endpoint(yaml)).toThrow(message);
  });
});

const DEPLOYMENT = `
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: my-endpoint
model: azureml:churn:3
code_configuration:
  code: ./onlinescoring
  scoring_script: score.py
environment: azureml:sklearn-env:1
environment_variables: {WORKERS: 2}
instance_type: Standard_DS3_v2
instance_count: 2
app_insights_enabled: true
request_settings:
  request_timeout_ms: 5000
  max_concurrent_requests_per_instance: 4
  max_queue_wait_ms: 500
liveness_probe:
  initial_delay: 10
  period: 5
  failure_threshold: 3
scale_settings: {type: default}
tags: {stage: prod}
`;

describe('deploymentBodyFromYaml', () => {
  it("maps the managed online deployment YAML to Azure's body; the model is left to resolve", () => {
    expect(deployment(DEPLOYMENT)).toEqual({
      name: 'blue',
      endpointName: 'my-endpoint',
      model: { kind: 'version', name: 'churn', version: '3' },
      body: {
        location: 'local',
        sku: { name: 'Default', capacity: 2 },
        tags: { stage: 'prod' },
        properties: {
          endpointComputeType: 'Managed',
          codeConfiguration: { codeId: '/work/project/onlinescoring', scoringScript: 'score.py' },
          environmentId: 'azureml:sklearn-env:1',
          environmentVariables: { WORKERS: '2' },
          instanceType: 'Standard_DS3_v2',
          appInsightsEnabled: true,
          requestSettings: {
            requestTimeout: 'PT5S',
            maxConcurrentRequestsPerInstance: 4,
            maxQueueWait: 'PT0.5S',
          },
          livenessProbe: { initialDelay: 'PT10S', period: 'PT5S', failureThreshold: 3 },
          scaleSettings: { scaleType: 'Default' },
        },
      },
    });
  });
  it('instance_count defaults to 1', () => {
    expect(deployment('name: d\nmodel: azureml:m:1').body.sku).toEqual({ name: 'Default', capacity: 1 });
  });
  it.each([
    ['type: kubernetes', /^deploy\.yml: type: mlgrid serves managed/],
    ['model: {path: ./model}', /^deploy\.yml: model: inline models are not supported/],
    [
      'code_configuration: {code: ./nope, scoring_script: s.py}',
      /code_configuration\.code: \/work\/project\/nope is not a folder/,
    ],
    [
      'code_configuration: {code: ./onlinescoring, scoring_script: other.py}',
      /code_configuration\.scoring_script: \/work\/project\/onlinescoring\/other\.py does not exist/,
    ],
    ['code_configuration: {code: ./onlinescoring}', /code_configuration\.scoring_script: is required/],
    ['instance_count: 0', /^deploy\.yml: instance_count: must be an integer from 1$/],
    ['request_settings: {timeout: 3}', /^deploy\.yml: request_settings\.timeout: unknown key/],
    ['environment: {image: x}', /^deploy\.yml: environment: inline environments/],
    ['data_collector: {}', /^deploy\.yml: data_collector: is not supported yet/],
  ])('refuses %j', (yaml, message) => {
    expect(() => deployment(yaml)).toThrow(message);
  });
});

describe('model references', () => {
  const WS = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws';
  it('parses name:version, name@latest and ARM ids', () => {
    expect(parseModelRef(ctx, 'azureml:churn:3')).toEqual({ kind: 'version', name: 'churn', version: '3' });
    expect(parseModelRef(ctx, 'azureml:churn@latest')).toEqual({ kind: 'latest', name: 'churn' });
    expect(parseModelRef(ctx, `azureml:${WS}/models/churn/versions/3`)).toEqual({
      kind: 'id',
      id: `${WS}/models/churn/versions/3`,
    });
    expect(modelVersionId(WS, 'churn', '3')).toBe(`${WS}/models/churn/versions/3`);
  });
  it.each(['churn:3', 'azureml:churn', 'azureml://registries/r/models/m/versions/1', `${WS}/models/churn`])(
    'refuses %j',
    (ref) => {
      expect(() => parseModelRef(ctx, ref)).toThrow(/^deploy\.yml: model: /);
    },
  );
});

it('isoSeconds', () => {
  expect([isoSeconds(5), isoSeconds(0.5), isoSeconds(90), isoSeconds(0.0015)]).toEqual([
    'PT5S',
    'PT0.5S',
    'PT90S',
    'PT0.002S',
  ]);
});
