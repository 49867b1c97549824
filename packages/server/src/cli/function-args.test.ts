import { describe, expect, it } from 'vitest';
import { functionBody, splitCommand } from './function-args.js';

describe('splitCommand', () => {
  it('splits like a shell, without expanding anything', () => {
    expect(splitCommand('python3 handler.py')).toEqual(['python3', 'handler.py']);
    expect(splitCommand(`  python3  -c 'print("a b")'  $HOME `)).toEqual([
      'python3',
      '-c',
      'print("a b")',
      '$HOME',
    ]);
    expect(splitCommand('a "b \\"c\\" \\\\ \\n" d\\ e')).toEqual(['a', 'b "c" \\ \\n', 'd e']);
    expect(splitCommand(`run ''`)).toEqual(['run', '']);
  });

  it('names the flag on bad input', () => {
    expect(() => splitCommand('python3 "unterminated')).toThrow(/--command: unterminated " quote/);
    expect(() => splitCommand('   ')).toThrow(/--command/);
  });
});

describe('functionBody', () => {
  it('builds the FunctionEnvelope from the flags', () => {
    expect(
      functionBody({
        command: 'python3 h.py',
        timeout: '5',
        env: ['A=1', 'B=x=y'],
        cwd: 'deploy',
        maxConcurrency: '2',
      }),
    ).toEqual({
      properties: {
        config: {
          mlgrid: {
            command: ['python3', 'h.py'],
            cwd: 'deploy',
            env: { A: '1', B: 'x=y' },
            timeoutSeconds: 5,
            maxConcurrency: 2,
          },
        },
        isDisabled: false,
      },
    });
    expect(functionBody({ module: './h.mjs', disabled: true })).toEqual({
      properties: { config: { mlgrid: { module: './h.mjs' } }, isDisabled: true },
    });
  });

  it('wants exactly one of --command and --module, and limits in range', () => {
    expect(() => functionBody({})).toThrow(/exactly one of --command and --module/);
    expect(() => functionBody({ command: 'a', module: 'b.js' })).toThrow(/exactly one/);
    expect(() => functionBody({ command: 'a', timeout: '601' })).toThrow(/--timeout/);
    expect(() => functionBody({ command: 'a', env: ['NOVALUE'] })).toThrow(/--env/);
  });
});
