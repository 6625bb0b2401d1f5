import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { examplesText } from './help-examples.js';
import { writeTo } from './output.js';
import type { Runtime } from './runtime.js';

/** From package.json: the bundler inlines it at build time, so `--version` is the package's. */
export const VERSION: string = packageJson.version;

type CommandFactory = (runtime: Runtime) => Command;

/**
 * Every command, each loaded only when it runs: a scale need not load the load test's histogram
 * or the autoscaler's metrics (start-up time is paid on every command).
 */
const COMMANDS: Array<[name: string, load: () => Promise<CommandFactory>]> = [
  ['up', async () => (await import('./commands/up.js')).upCommand],
  ['down', async () => (await import('./commands/down.js')).downCommand],
  ['scale', async () => (await import('./commands/scale.js')).scaleCommand],
  ['scale-all', async () => (await import('./commands/scale-all.js')).scaleAllCommand],
  ['status', async () => (await import('./commands/status.js')).statusCommand],
  ['ps', async () => (await import('./commands/ps.js')).psCommand],
  ['load-test', async () => (await import('./commands/load-test.js')).loadTestCommand],
  ['logs', async () => (await import('./commands/logs.js')).logsCommand],
  ['events', async () => (await import('./commands/events.js')).eventsCommand],
  ['init', async () => (await import('./commands/init.js')).initCommand],
  ['autoscale', async () => (await import('./commands/autoscale.js')).autoscaleCommand],
  ['completion', async () => (await import('./commands/completion.js')).completionCommand],
];

/** Global options that take a value: what follows them is not the command's name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-c', '--config', '-f', '--file', '-p', '--project-name', '--profile']);

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The command an argv names; undefined when none is (help, version) or it is unknown. */
function commandNamed(argv: string[]): string | undefined {
  for (let index = 2; index < argv.length; index++) {
    const word = argv[index];
    if (GLOBAL_OPTIONS_WITH_VALUE.has(word)) index++;
    else if (!word.startsWith('-')) return COMMANDS.some(([name]) => name === word) ? word : undefined;
  }
  return undefined;
}

/** Registers the commands argv needs (all of them for help or an unknown name); nothing else. */
export async function buildProgram(runtime: Runtime, argv: string[]): Promise<Command> {
  const { stdout, stderr } = runtime.deps;
  const output = {
    writeOut: (text: string) => writeTo(stdout, text),
    writeErr: (text: string) => writeTo(stderr, text),
  };
  const program = new Command('qscale')
    .description('Scale, watch and load-test RabbitMQ worker fleets under Docker Compose')
    .version(VERSION)
    .option('-c, --config <file>', 'qscale config file (default: QSCALE_CONFIG, else test-config.yml here or in the nearest parent folder)')
    .option('-f, --file <file>', 'compose file; repeatable, merged in order (default: COMPOSE_FILE, project.compose_file, else found as Compose finds it)', collect)
    .option('--profile <name>', 'activate a Compose profile, repeatable (default: COMPOSE_PROFILES)', collect)
    .option('-p, --project-name <name>', 'Compose project name (default: COMPOSE_PROJECT_NAME, the config, the folder name)')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .configureOutput(output)
    // As with docker compose, global options come before the command, so `logs -f` means follow
    // while `qscale -f other.yml ps` names a compose file.
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  qscale up && qscale status --watch
  qscale scale worker-a 4
  qscale -c ops/fleet.yml -f compose.yaml -f compose.prod.yaml ps
  source <(qscale completion bash)

The config is -c, else QSCALE_CONFIG, else test-config.yml here or in the nearest parent folder.
Exit codes: 0 ok, 1 operational failure, 2 usage or config error, 99 load-test thresholds failed, 130 Ctrl-C, 143 SIGTERM.`,
    )
    .exitOverride();
  const named = commandNamed(argv);
  const factories = await Promise.all(COMMANDS.filter(([name]) => named === undefined || name === named).map(([, load]) => load()));
  for (const make of factories) {
    // addCommand does not pass settings down as .command() would: give each the same output.
    // --no-color is global, yet users type it after the command too (`qscale logs --no-color`).
    const command = make(runtime).option('--no-color', 'no colours').configureOutput(output).exitOverride();
    const examples = examplesText(command.name());
    if (examples) command.addHelpText('after', examples);
    program.addCommand(command);
  }
  return program;
}

export { CommanderError };
