/**
 * `mlgrid configure --defaults group=rg workspace=ws ...` and `--list-defaults`, as `az configure`. Local only:
 * no server is contacted.
 */
import { Command, Option } from 'commander';
import { parseBool } from './eventgrid-args.js';
import { formatCliError } from './eventgrid-common.js';
import {
  configDir,
  configFile,
  DEFAULT_KEYS,
  loadDefaults,
  mergeDefaults,
  parseDefaultsArgs,
  saveDefaults,
} from './defaults.js';
import { OUTPUT_FORMATS, formatOutput, type CliIo, type OutputFormat } from './output.js';

interface ConfigureFlags {
  defaults?: string[];
  listDefaults?: boolean | string;
  output: OutputFormat;
}

export function registerConfigure(program: Command, io: CliIo): void {
  program
    .command('configure')
    .description('Manage CLI defaults (az configure): resource group, workspace, subscription, location')
    .option(
      '-d, --defaults <key=value...>',
      `space-separated defaults to set, an empty value unsets (keys: ${DEFAULT_KEYS.join(', ')})`,
    )
    .option('-l, --list-defaults [bool]', 'list the configured defaults')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('json'))
    .action((_opts: unknown, cmd: Command) => {
      const f = cmd.opts<ConfigureFlags>();
      try {
        const list =
          f.listDefaults === true ||
          (typeof f.listDefaults === 'string' && parseBool('--list-defaults', f.listDefaults));
        if (f.defaults === undefined && !list) {
          throw new Error(
            'give --defaults key=value ... or --list-defaults (mlgrid has no interactive setup)',
          );
        }
        const file = configFile();
        if (f.defaults !== undefined) {
          const changes = parseDefaultsArgs(f.defaults);
          saveDefaults(mergeDefaults(loadDefaults(file), changes), file, configDir());
        }
        if (list) {
          const rows = Object.entries(loadDefaults(file)).map(([name, value]) => ({
            name,
            source: file,
            value,
          }));
          const text = formatOutput(rows, f.output);
          if (text) io.stdout(text);
        }
      } catch (err) {
        io.stderr(formatCliError(err));
        io.setExitCode?.(1);
      }
    });
}
