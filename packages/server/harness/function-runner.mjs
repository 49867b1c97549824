/* global process, Buffer */
// mlgrid's host for JavaScript/TypeScript function handlers (docs/functions.md), one process per invocation.
// Usage: node function-runner.mjs <module.js|.mjs|.cjs|.ts|.mts|.cts>, the delivery's JSON on stdin.
// Calls the module's `handler(events, context)` (a named export, the default export, or the default export's
// `handler`) with the events as an array, awaits it, prints a returned value to stdout and exits 0. A throw
// exits 1 (retried), or with the error's integer `exitCode` (65 = dead-letter at once).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const file = resolve(process.argv[2] ?? '');
const fail = (message, code = 1) => {
  process.stderr.write(`${message}\n`, () => process.exit(code));
};

/**
 * tsx from the server's installation, else from the handler's folder: its main entry is what `node --import tsx`
 * loads, registering both the ESM and the CommonJS hooks (a .ts file without `"type": "module"` is CommonJS).
 */
async function registerTypeScript() {
  for (const from of [import.meta.url, pathToFileURL(file).href]) {
    try {
      const pkgFile = createRequire(from).resolve('tsx/package.json');
      const entry = JSON.parse(readFileSync(pkgFile, 'utf8')).exports['.'];
      await import(
        pathToFileURL(join(dirname(pkgFile), typeof entry === 'string' ? entry : entry.default)).href
      );
      return true;
    } catch {
      // try the next place
    }
  }
  return false;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function context() {
  const env = process.env;
  const list = (v) => (v ? v.split(',') : []);
  let headers = {};
  try {
    headers = JSON.parse(env.MLGRID_DELIVERY_HEADERS ?? '{}');
  } catch {
    // keep {}
  }
  return {
    functionId: env.MLGRID_FUNCTION_ID,
    subscriptionName: env.MLGRID_SUBSCRIPTION_NAME,
    eventSubscriptionId: env.MLGRID_EVENT_SUBSCRIPTION_ID,
    eventType: env.MLGRID_EVENT_TYPE,
    eventTypes: list(env.MLGRID_EVENT_TYPES),
    eventIds: list(env.MLGRID_EVENT_IDS),
    deliveryCount: Number(env.MLGRID_DELIVERY_COUNT ?? 0),
    headers,
  };
}

async function main() {
  if (/\.[cm]?ts$/i.test(file) && !(await registerTypeScript())) {
    return fail(`${file}: TypeScript handlers need tsx (npm install tsx, next to mlgrid or the handler)`);
  }
  let events;
  try {
    events = JSON.parse(await readStdin());
  } catch (err) {
    return fail(`the delivery is not JSON: ${err.message}`, 65);
  }
  const mod = await import(pathToFileURL(file).href);
  // A CommonJS module (a .ts file outside a `"type": "module"` package) nests its exports under `default`.
  const candidates = [mod.handler, mod.default, mod.default?.handler, mod.default?.default];
  const handler = candidates.find((f) => typeof f === 'function');
  if (!handler) return fail(`${file} exports no handler(events, context) function`);
  try {
    const out = await handler(Array.isArray(events) ? events : [events], context());
    const text = out === undefined ? '' : typeof out === 'string' ? out : JSON.stringify(out);
    // Exit even when the handler left timers or sockets open: its promise settling ends the invocation.
    process.stdout.write(text, () => process.exit(0));
  } catch (err) {
    const code = Number.isInteger(err?.exitCode) && err.exitCode > 0 && err.exitCode < 256 ? err.exitCode : 1;
    fail(err?.stack ?? String(err), code);
  }
}

await main().catch((err) => fail(err?.stack ?? String(err)));
