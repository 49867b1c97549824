/** `mlgrid function create` flags → the function's PUT body (pure). */
import { FUNCTION_LIMITS } from '../core/function-app.js';
import { parseIntFlag, parseKeyValues, usage } from './eventgrid-args.js';

/**
 * Splits a command line into words as a POSIX shell would, without any expansion: whitespace separates words,
 * '…' keeps everything literally, "…" keeps everything but `\"` and `\\`, a backslash outside quotes escapes
 * the next character. mlgrid never runs a shell: the words become the program and its arguments.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw usage('--command', `unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  if (words.length === 0)
    throw usage('--command', 'give the program to run, e.g. --command "python3 handler.py"');
  return words;
}

export interface FunctionCreateFlags {
  command?: string;
  module?: string;
  cwd?: string;
  timeout?: string;
  maxConcurrency?: string;
  env?: string[];
  disabled?: boolean;
}

/** The FunctionEnvelope to PUT. */
export function functionBody(f: FunctionCreateFlags): { properties: Record<string, unknown> } {
  if ((f.command === undefined) === (f.module === undefined)) {
    throw usage('--command', 'give exactly one of --command and --module');
  }
  const mlgrid: Record<string, unknown> =
    f.command !== undefined ? { command: splitCommand(f.command) } : { module: f.module };
  if (f.cwd !== undefined) mlgrid.cwd = f.cwd;
  const env = parseKeyValues('--env', f.env ?? [], true);
  if (Object.keys(env).length > 0) mlgrid.env = env;
  const { timeoutSeconds: t, maxConcurrency: c } = FUNCTION_LIMITS;
  if (f.timeout !== undefined) mlgrid.timeoutSeconds = parseIntFlag('--timeout', f.timeout, t.min, t.max);
  if (f.maxConcurrency !== undefined) {
    mlgrid.maxConcurrency = parseIntFlag('--max-concurrency', f.maxConcurrency, c.min, c.max);
  }
  return { properties: { config: { mlgrid }, isDisabled: f.disabled === true } };
}
