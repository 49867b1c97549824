import { describe, expect, it } from 'vitest';
import { MlgridError } from './errors.js';
import {
  functionLanguage,
  functionPaths,
  parseFunctionPut,
  renderFunction,
  resolveInside,
  resourceKey,
  validateFunctionNames,
  type FunctionRef,
} from './function-app.js';

const REF: FunctionRef = { subscriptionId: 's1', resourceGroup: 'RG', app: 'app1', name: 'OnModel' };
const put = (mlgrid: unknown, extra: Record<string, unknown> = {}) =>
  parseFunctionPut({ properties: { config: { mlgrid }, ...extra } });

function targetOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MlgridError);
    return (err as MlgridError).target ?? (err as MlgridError).code;
  }
  return undefined;
}

describe('parseFunctionPut', () => {
  it('reads a command function with defaults, keeping the rest of Azure config as given', () => {
    const spec = parseFunctionPut({
      properties: {
        config: { bindings: [{ type: 'eventGridTrigger' }], mlgrid: { command: ['python3', 'h.py'] } },
      },
    });
    expect(spec).toEqual({
      config: { bindings: [{ type: 'eventGridTrigger' }] },
      handler: { command: ['python3', 'h.py'] },
      env: {},
      timeoutSeconds: 30,
      maxConcurrency: 4,
      isDisabled: false,
    });
  });

  it('reads a module function with cwd, env, limits and isDisabled', () => {
    const spec = put(
      {
        module: 'h.mts',
        cwd: 'apps/x',
        env: { TOKEN_FILE: '/run/t' },
        timeoutSeconds: 600,
        maxConcurrency: 1,
      },
      { isDisabled: true },
    );
    expect(spec).toMatchObject({
      handler: { module: 'h.mts' },
      cwd: 'apps/x',
      env: { TOKEN_FILE: '/run/t' },
      timeoutSeconds: 600,
      maxConcurrency: 1,
      isDisabled: true,
    });
  });

  it('names the field at fault', () => {
    const base = 'properties.config.mlgrid';
    expect(targetOf(() => parseFunctionPut({}))).toBe('properties');
    expect(targetOf(() => parseFunctionPut({ properties: {} }))).toBe('properties.config');
    expect(targetOf(() => parseFunctionPut({ properties: { config: {} } }))).toBe(base);
    expect(targetOf(() => put({}))).toBe(base);
    expect(targetOf(() => put({ command: ['a'], module: 'b.js' }))).toBe(`${base}.module`);
    expect(targetOf(() => put({ command: [] }))).toBe(`${base}.command`);
    expect(targetOf(() => put({ command: 'python3 h.py' }))).toBe(`${base}.command`);
    expect(targetOf(() => put({ command: ['python3', 7] }))).toBe(`${base}.command[1]`);
    expect(targetOf(() => put({ command: [' '] }))).toBe(`${base}.command[0]`);
    expect(targetOf(() => put({ module: 'h.py' }))).toBe(`${base}.module`);
    expect(targetOf(() => put({ command: ['x'], timeoutSeconds: 601 }))).toBe(`${base}.timeoutSeconds`);
    expect(targetOf(() => put({ command: ['x'], timeoutSeconds: 0 }))).toBe(`${base}.timeoutSeconds`);
    expect(targetOf(() => put({ command: ['x'], maxConcurrency: 65 }))).toBe(`${base}.maxConcurrency`);
    expect(targetOf(() => put({ command: ['x'], env: { MLGRID_KEY: 'x' } }))).toBe(`${base}.env.MLGRID_KEY`);
    expect(targetOf(() => put({ command: ['x'], env: { aeg_x: 'x' } }))).toBe(`${base}.env.aeg_x`);
    expect(targetOf(() => put({ command: ['x'], env: { 'A=B': 'x' } }))).toBe(`${base}.env.A=B`);
    expect(targetOf(() => put({ command: ['x'], cwd: '' }))).toBe(`${base}.cwd`);
    expect(targetOf(() => put({ command: ['x'] }, { isDisabled: 'no' }))).toBe('properties.isDisabled');
  });
});

describe('names and ids', () => {
  it('accepts Azure-like app and function names and refuses others', () => {
    expect(() => validateFunctionNames(REF)).not.toThrow();
    expect(() => validateFunctionNames({ ...REF, app: '-app' })).toThrow(/Function app name/);
    expect(() => validateFunctionNames({ ...REF, name: '1fn' })).toThrow(/Function name/);
    expect(() => validateFunctionNames({ ...REF, name: 'a'.repeat(129) })).toThrow(/Function name/);
  });

  it('keys ids case-insensitively, ignoring doubled and trailing slashes', () => {
    expect(
      resourceKey('//subscriptions/S/resourceGroups/RG/providers/Microsoft.Web/sites/A/functions/F/'),
    ).toBe('/subscriptions/s/resourcegroups/rg/providers/microsoft.web/sites/a/functions/f');
  });
});

describe('path rules', () => {
  const root = '/srv/functions';
  it('keeps working directories and modules inside the functions directory', () => {
    expect(resolveInside(root, root, 'a/b')).toBe('/srv/functions/a/b');
    expect(resolveInside(root, root, '/srv/functions')).toBe('/srv/functions');
    expect(resolveInside(root, root, '../x')).toBeUndefined();
    expect(resolveInside(root, root, '/srv/functions-other')).toBeUndefined();
    expect(resolveInside(root, root, '/etc')).toBeUndefined();
    expect(resolveInside(root, root, 'a/../../x')).toBeUndefined();
    expect(resolveInside(root, root, '..foo')).toBe('/srv/functions/..foo');
  });

  it('defaults the working directory to the app folder and resolves a module against it', () => {
    expect(functionPaths(root, REF, put({ command: ['x'] }))).toEqual({ cwd: '/srv/functions/app1' });
    expect(functionPaths(root, REF, put({ module: 'h.mjs', cwd: 'shared' }))).toEqual({
      cwd: '/srv/functions/shared',
      module: '/srv/functions/shared/h.mjs',
    });
    expect(targetOf(() => functionPaths(root, REF, put({ command: ['x'], cwd: '/tmp' })))).toBe(
      'properties.config.mlgrid.cwd',
    );
    expect(targetOf(() => functionPaths(root, REF, put({ module: '../../etc/x.js' })))).toBe(
      'properties.config.mlgrid.module',
    );
  });
});

describe('renderFunction', () => {
  it("renders Azure's FunctionEnvelope with mlgrid's part under properties.config.mlgrid", () => {
    const spec = put({ command: ['/usr/bin/python3', 'h.py'], env: { A: '1' } }, {});
    expect(renderFunction({ ref: REF, spec })).toEqual({
      id: '/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Web/sites/app1/functions/OnModel',
      name: 'app1/OnModel',
      type: 'Microsoft.Web/sites/functions',
      properties: {
        function_app_id: '/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Web/sites/app1',
        config: {
          mlgrid: {
            command: ['/usr/bin/python3', 'h.py'],
            env: { A: '1' },
            timeoutSeconds: 30,
            maxConcurrency: 4,
          },
        },
        language: 'python',
        isDisabled: false,
      },
    });
  });

  it('names the language as Azure does', () => {
    expect(functionLanguage({ module: 'h.ts' })).toBe('node');
    expect(functionLanguage({ command: ['python3.11', 'x'] })).toBe('python');
    expect(functionLanguage({ command: ['./run.sh'] })).toBe('custom');
  });
});
