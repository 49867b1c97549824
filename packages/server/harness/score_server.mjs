/* global process, console, Buffer */
// mlgrid's scoring host for JavaScript modules (the init()/run(rawData) contract of Azure ML scoring scripts).
// Usage: node score_server.mjs <script.js|.mjs>. Awaits init() once, then serves on 127.0.0.1 (a free port):
// GET / is the health check, POST /score awaits run(<request body as text>); a string result is sent as is,
// anything else as JSON. Prints "MLGRID_SCORING_READY <port>" when ready.
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const mod = await import(pathToFileURL(resolve(process.argv[2])).href);
const api = mod.run ? mod : (mod.default ?? {});
if (typeof api.run !== 'function') {
  console.error(`${process.argv[2]} exports no run(rawData) function`);
  process.exit(1);
}
if (typeof api.init === 'function') await api.init();

const server = createServer(async (req, res) => {
  if (req.method !== 'POST') return res.writeHead(200, { 'content-type': 'text/plain' }).end('Healthy');
  const chunks = [];
  for await (const c of req) chunks.push(c);
  try {
    const out = await api.run(Buffer.concat(chunks).toString('utf8'));
    if (typeof out === 'string') res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(out);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  } catch (err) {
    console.error(err); // the script's failure is the caller's 500, with the trace in the log
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: String(err?.message ?? err) }));
  }
});
// mlgrid holds our stdin open: EOF means it died (even by SIGKILL), and a scoring host must not outlive it.
process.stdin.on('end', () => process.exit(0)).resume();
server.listen(0, '127.0.0.1', () => console.log(`MLGRID_SCORING_READY ${server.address().port}`));
