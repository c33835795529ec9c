import { ExitCode, PedeProntoError } from '@pedepronto/common'
import type { Command } from 'commander'

/** Commands that are planned, with the issue that builds them; running one says so and exits 3. */
export const PLANNED = [
  { name: 'sim', issue: 3, summary: 'run simulated customer and restaurant devices over MQTT or serial' },
  {
    name: 'gateway',
    issue: 4,
    summary: 'run the edge gateway: MQTT/TLS broker and serial bridge into Kafka',
  },
  { name: 'attach', issue: 4, summary: 'attach a serial port (a real board or a pty) to the gateway' },
  { name: 'certs', issue: 4, summary: 'local CA, gateway server and per-device client certificates' },
  { name: 'process', issue: 5, summary: 'run the edge processor: exactly-once order facts, KPIs, alerts' },
  { name: 'sink', issue: 6, summary: 'run the cloud sink: Parquet lake on S3, Glue, AWS IoT' },
  { name: 'aws', issue: 6, summary: 'provision AWS IoT things and print Athena/Redshift SQL' },
  { name: 'lake', issue: 6, summary: 'query the lake with DuckDB' },
  { name: 'flash', issue: 7, summary: 'flash firmware to a board or start a virtual AVR board' },
] as const

export function addPlannedCommand(program: Command, name: string): void {
  const planned = PLANNED.find((p) => p.name === name)
  if (!planned) throw new Error(`no planned command named ${name}`)
  program
    .command(planned.name)
    .description(`${planned.summary} (not built yet: issue #${planned.issue})`)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(() => {
      throw new PedeProntoError('CLI_NOT_BUILT', `\`pedepronto ${planned.name}\` is not built yet`, {
        exitCode: ExitCode.NOT_BUILT,
        hint: `it arrives with issue #${planned.issue}; see the README for what works today`,
      })
    })
}
