/** Plumbing shared by the `mlgrid ml job|online-endpoint|online-deployment` commands. */
import { Command, Option } from 'commander';
import { groupOption, workspaceOption } from './defaults.js';
import { addGlobalOptions, type Context, type GlobalFlags } from './eventgrid-common.js';
import type { CliIo } from './output.js';

export interface WsScope {
  resourceGroup: string;
  workspaceName: string;
}

export type Json = Record<string, unknown>;

/** Status polling interval of `--stream`, `cancel` and long-running creates. */
export const POLL_MS = 500;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function workspaceArmId(subscription: string, f: WsScope): string {
  return (
    `/subscriptions/${subscription}/resourceGroups/${f.resourceGroup}` +
    `/providers/Microsoft.MachineLearningServices/workspaces/${f.workspaceName}`
  );
}

/** A leaf with the workspace scope flags (`-w`, `-g`, from `mlgrid configure --defaults` when left out). */
export function wsLeaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name)
    .description(description)
    .addOption(workspaceOption())
    .addOption(groupOption());
  parent.addCommand(addGlobalOptions(cmd));
  return cmd;
}

/** az's `--no-wait`: return once the request is accepted. */
export const noWaitOption = () =>
  new Option('--no-wait', 'do not wait for the long-running operation to finish');

export function setOption(): Option {
  return new Option(
    '--set <key=value...>',
    'override YAML fields: --set display_name=x inputs.lr=0.1',
  ).default([]);
}

/**
 * Lists print their raw JSON, or for `-o table|tsv` one flat row per item with the columns worth a glance
 * (the generic table would show only id, name and type).
 */
export function printList(ctx: Context, f: GlobalFlags, items: Json[], row: (i: Json) => Json): void {
  ctx.print(f.output === 'table' || f.output === 'tsv' ? items.map(row) : items);
}

export function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const k of path) cur = typeof cur === 'object' && cur !== null ? (cur as Json)[k] : undefined;
  return cur;
}

/** A `\r`-rewritten status line on a terminal's stderr; nothing when stderr is not a terminal. */
export function progressLine(io: CliIo & { stderrIsTTY?: boolean }) {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let shown = false;
  let i = 0;
  const started = Date.now();
  return {
    update(message: string) {
      if (!tty) return;
      shown = true;
      const secs = Math.floor((Date.now() - started) / 1000);
      io.stderr(`\r${frames[i++ % frames.length]} ${message} (${secs}s)\x1b[K`);
    },
    clear() {
      if (shown) io.stderr('\r\x1b[K');
      shown = false;
    },
  };
}
