// Runs `pedepronto sink` from the built CLI. Until cli/src/main.ts wires the sink command this shim
// builds the same command with addSinkCommand; afterwards the test spawns cli/bin/pedepronto.js.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const { Command } = await import('commander')
const { addSinkCommand } = await import('../../../cli/dist/commands/sink.js')
const program = new Command('pedepronto')
addSinkCommand(program, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) })
await program.parseAsync(process.argv)
process.exit(0)
