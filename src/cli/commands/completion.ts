import { Argument, Command, type Option } from 'commander';
import { writeTo } from '../output.js';
import type { Runtime } from '../runtime.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** What a completion script needs of one command or of the program: its name, words and options. */
interface CompletionSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  /** Words its arguments take, when they are a fixed list (`completion <shell>`). */
  choices: string[];
}

interface OptionSpec {
  short?: string;
  long?: string;
  description: string;
  takesValue: boolean;
  /** The value names a file (`<file>`): complete file names. */
  takesFile: boolean;
}

export function completionCommand(runtime: Runtime): Command {
  return new Command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', SHELLS.join(', ')).choices(SHELLS))
    .addHelpText(
      'after',
      `
Examples:
  source <(qscale completion bash)                                   # this bash session
  qscale completion bash > ~/.local/share/bash-completion/completions/qscale
  qscale completion zsh > "\${fpath[1]}/_qscale"                      # then restart zsh
  qscale completion fish > ~/.config/fish/completions/qscale.fish`,
    )
    .action(async (shell: string) => {
      // Every command registered (argv naming none), so the script follows the program as it is.
      const { buildProgram } = await import('../program.js');
      const program = await buildProgram(runtime, ['node', 'qscale']);
      writeTo(runtime.deps.stdout, completionScript(shell as Shell, program));
    });
}

export function completionScript(shell: Shell, program: Command): string {
  const root = specOf(program);
  const commands = program.commands.map(specOf);
  if (shell === 'bash') return bashScript(root, commands);
  if (shell === 'zsh') return zshScript(root, commands);
  return fishScript(root, commands);
}

function specOf(command: Command): CompletionSpec {
  const options = (command.options as readonly Option[])
    .filter((option) => !option.hidden)
    .map((option) => ({
      short: option.short,
      long: option.long,
      description: option.description,
      takesValue: option.required || option.optional,
      takesFile: /<file>/.test(option.flags),
    }));
  const choices = command.registeredArguments.flatMap((argument) => argument.argChoices ?? []);
  return { name: command.name(), description: command.description(), choices, options: [...options, { short: '-h', long: '--help', description: 'display help', takesValue: false, takesFile: false }] };
}

const flagsOf = (spec: CompletionSpec) => spec.options.flatMap((option) => [option.short, option.long].filter((flag): flag is string => Boolean(flag)));
const valueFlagsOf = (spec: CompletionSpec, which: (option: OptionSpec) => boolean) =>
  spec.options.filter(which).flatMap((option) => [option.short, option.long].filter((flag): flag is string => Boolean(flag)));
/** A one-line description, as a shell's menu shows it. */
const brief = (text: string) => text.replace(/\s+/g, ' ').trim();

function bashScript(root: CompletionSpec, commands: CompletionSpec[]): string {
  const globalValueFlags = valueFlagsOf(root, (option) => option.takesValue);
  const fileFlags = [...new Set([root, ...commands].flatMap((spec) => valueFlagsOf(spec, (option) => option.takesFile)))];
  const cases = commands.map((command) => `    ${command.name}) words="${[...command.choices, ...flagsOf(command)].join(' ')}" ;;`).join('\n');
  return `# qscale bash completion: source <(qscale completion bash)
_qscale() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" words i
  # The command is the first word that is neither a global option nor its value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${globalValueFlags.join('|')}) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    ${fileFlags.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$cmd" in
    "") words="${[...flagsOf(root), ...commands.map((command) => command.name), 'help'].join(' ')}" ;;
${cases}
    help) words="${commands.map((command) => command.name).join(' ')}" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _qscale qscale
`;
}

/** A single-quoted zsh word. */
const zshWord = (text: string) => text.replace(/'/g, `'\\''`);
/** Text of an _arguments [description]: brackets, colons and backslashes escaped. */
const zshQuote = (text: string) => zshWord(brief(text).replace(/([[\]:\\])/g, '\\$1'));
/** Text of a _describe entry's description: its colon is the separator. */
const zshDescribe = (text: string) => zshWord(brief(text).replace(/([:\\])/g, '\\$1'));

function zshOptionSpecs(spec: CompletionSpec): string[] {
  return spec.options.map((option) => {
    const flags = [option.short, option.long].filter((flag): flag is string => Boolean(flag));
    const value = option.takesFile ? ':file:_files' : option.takesValue ? ':value: ' : '';
    const exclusive = flags.length > 1 ? `(${flags.join(' ')})` : '';
    const names = flags.length > 1 ? `{${flags.join(',')}}` : flags[0];
    return `'${exclusive}'${names}'[${zshQuote(option.description)}]${value}'`;
  });
}

function zshScript(root: CompletionSpec, commands: CompletionSpec[]): string {
  const list = commands.map((command) => `    '${command.name}:${zshDescribe(command.description)}'`).join('\n');
  const cases = commands.map((command) => `        ${command.name}) _arguments \\\n          ${zshOptionSpecs(command).join(' \\\n          ')} \\\n          ${command.choices.length > 0 ? `'1:${command.name}:(${command.choices.join(' ')})'` : `'*: :_default'`} ;;`).join('\n');
  return `#compdef qscale
# qscale zsh completion: qscale completion zsh > "\${fpath[1]}/_qscale", or source <(qscale completion zsh)
_qscale() {
  local -a commands
  commands=(
${list}
  )
  local state line
  _arguments -C \\
    ${zshOptionSpecs(root).join(' \\\n    ')} \\
    '1: :->command' \\
    '*:: :->args'
  case $state in
    command) _describe 'command' commands ;;
    args)
      case $line[1] in
${cases}
        help) _describe 'command' commands ;;
      esac ;;
  esac
}
if [ "$funcstack[1]" = "_qscale" ]; then _qscale "$@"; else compdef _qscale qscale; fi
`;
}

/** Text inside a single-quoted fish word. */
const fishQuote = (text: string) => brief(text).replace(/\\/g, '\\\\').replace(/'/g, "\\'");

function fishOptionLines(spec: CompletionSpec, condition: string): string[] {
  return spec.options.map((option) => {
    const parts = ['complete -c qscale', `-n '${condition}'`];
    if (option.short) parts.push(`-s ${option.short.slice(1)}`);
    if (option.long) parts.push(`-l ${option.long.slice(2)}`);
    if (option.takesValue) parts.push(option.takesFile ? '-r -F' : '-r');
    parts.push(`-d '${fishQuote(option.description)}'`);
    return parts.join(' ');
  });
}

function fishScript(root: CompletionSpec, commands: CompletionSpec[]): string {
  const names = commands.map((command) => command.name).join(' ');
  return [
    '# qscale fish completion: qscale completion fish > ~/.config/fish/completions/qscale.fish',
    'complete -c qscale -f',
    ...fishOptionLines(root, '__fish_use_subcommand'),
    ...commands.map((command) => `complete -c qscale -n '__fish_use_subcommand' -a ${command.name} -d '${fishQuote(command.description)}'`),
    `complete -c qscale -n '__fish_use_subcommand' -a help -d 'display help for a command'`,
    `complete -c qscale -n '__fish_seen_subcommand_from help' -a '${names}'`,
    ...commands.flatMap((command) => [
      ...(command.choices.length > 0 ? [`complete -c qscale -n '__fish_seen_subcommand_from ${command.name}' -a '${command.choices.join(' ')}'`] : []),
      ...fishOptionLines(command, `__fish_seen_subcommand_from ${command.name}`),
    ]),
    '',
  ].join('\n');
}
