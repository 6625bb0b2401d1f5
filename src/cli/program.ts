import { Command, CommanderError } from 'commander';
import { autoscaleCommand } from './commands/autoscale.js';
import { downCommand } from './commands/down.js';
import { eventsCommand } from './commands/events.js';
import { initCommand } from './commands/init.js';
import { logsCommand } from './commands/logs.js';
import { loadTestCommand } from './commands/load-test.js';
import { psCommand } from './commands/ps.js';
import { scaleAllCommand } from './commands/scale-all.js';
import { scaleCommand } from './commands/scale.js';
import { statusCommand } from './commands/status.js';
import { upCommand } from './commands/up.js';
import type { Runtime } from './runtime.js';

export const VERSION = '0.1.0';

/** Registers the commands; nothing else. */
export function buildProgram(runtime: Runtime): Command {
  const { stdout, stderr } = runtime.deps;
  const output = {
    writeOut: (text: string) => stdout.write(text),
    writeErr: (text: string) => stderr.write(text),
  };
  const program = new Command('qscale')
    .description('Scale, watch and load-test RabbitMQ worker fleets under Docker Compose')
    .version(VERSION)
    .option('-c, --config <file>', 'qscale config file', 'test-config.yml')
    .option('-f, --file <file>', "compose file (default: the config's project.compose_file)")
    .option('-p, --project-name <name>', 'Compose project name (default: COMPOSE_PROJECT_NAME, the config, the folder name)')
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .configureOutput(output)
    // As with docker compose, global options come before the command, so `logs -f` means follow
    // while `qscale -f other.yml ps` names a compose file.
    .enablePositionalOptions()
    .exitOverride();
  const commands = [upCommand, downCommand, scaleCommand, scaleAllCommand, statusCommand, psCommand, loadTestCommand, logsCommand, eventsCommand, initCommand, autoscaleCommand];
  for (const make of commands) {
    // addCommand does not pass settings down as .command() would: give each the same output.
    // --no-color is global, yet users type it after the command too (`qscale logs --no-color`).
    program.addCommand(make(runtime).option('--no-color', 'no colours').configureOutput(output).exitOverride());
  }
  return program;
}

export { CommanderError };
