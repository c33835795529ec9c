/**
 * `pedepronto`: one command line for the whole system. Every subcommand has --help; errors are one
 * clear message with what to do and an exit code with a meaning (see README, "Exit codes") —
 * never a stack trace for bad input.
 */

import { ExitCode, formatErrorForUser, isPedeProntoError } from '@pedepronto/common'
import { Command, CommanderError } from 'commander'
import { addAwsCommand } from './commands/aws.js'
import { addBenchCommand } from './commands/bench.js'
import { addCertsCommand } from './commands/certs.js'
import { addDemoCommand } from './commands/demo.js'
import { addFlashCommand } from './commands/flash.js'
import { addAttachCommand, addGatewayCommand } from './commands/gateway.js'
import { addLakeCommand } from './commands/lake.js'
import { addProcessCommand } from './commands/process.js'
import { addServicesCommand } from './commands/services.js'
import { addSimCommand } from './commands/sim.js'
import { addSinkCommand } from './commands/sink.js'
import { type CommandContext, processContext } from './context.js'

export const VERSION = '0.1.0'

export function buildProgram(ctx: CommandContext = processContext): Command {
  const program = new Command('pedepronto')
    .description(
      "Pede Pronto Edge: carries a food-ordering app's real-time device data over MQTT and serial through Kafka into an S3 lake.",
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
    .exitOverride()
  // Commands in the order data flows: devices, edge, cloud, then the tools around them.
  const builders: Record<string, (p: Command, c: CommandContext) => void> = {
    sim: addSimCommand,
    gateway: addGatewayCommand,
    certs: addCertsCommand,
    process: addProcessCommand,
    sink: addSinkCommand,
    aws: addAwsCommand,
    lake: addLakeCommand,
    flash: addFlashCommand,
    attach: addAttachCommand,
    bench: addBenchCommand,
    services: addServicesCommand,
    demo: addDemoCommand,
  }
  const order = [
    'sim',
    'gateway',
    'attach',
    'flash',
    'certs',
    'process',
    'sink',
    'aws',
    'lake',
    'bench',
    'services',
    'demo',
  ]
  for (const name of order) {
    const build = builders[name]
    if (!build) throw new Error(`no builder for command ${name}`)
    build(program, ctx)
  }
  for (const cmd of program.commands) applyExitOverride(cmd, ctx)
  return program
}

function applyExitOverride(cmd: Command, ctx: CommandContext): void {
  cmd.exitOverride()
  cmd.configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
  for (const sub of cmd.commands) applyExitOverride(sub, ctx)
}

export async function run(argv: string[], ctx: CommandContext = processContext): Promise<number> {
  const program = buildProgram(ctx)
  try {
    await program.parseAsync(argv)
    return ExitCode.OK
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (error.exitCode === 0) return ExitCode.OK
      return ExitCode.USAGE
    }
    ctx.err(`${formatErrorForUser(error)}\n`)
    if (isPedeProntoError(error)) return error.exitCode
    if (process.env.PEDEPRONTO_DEBUG) ctx.err(`${(error as Error).stack ?? ''}\n`)
    return ExitCode.SOFTWARE
  }
}
