import { ExitCode, PedeProntoError } from '@pedepronto/common'
import {
  ALL_SERVICES,
  aptInstallLine,
  DEBIAN_PACKAGES,
  loadServices,
  type ServiceName,
  servicesDown,
  servicesStatus,
  servicesUp,
  toolStatus,
} from '@pedepronto/infra'
import { type Command, Option } from 'commander'
import type { CommandContext } from '../context.js'

interface ServicesOptions {
  only?: ServiceName
  json?: boolean
  home?: string
  kafkaPort?: string
  motoPort?: string
}

function flags(options: ServicesOptions): Record<string, unknown> {
  const f: Record<string, unknown> = {}
  if (options.home !== undefined) f['services.home'] = options.home
  if (options.kafkaPort !== undefined) f['services.kafkaPort'] = options.kafkaPort
  if (options.motoPort !== undefined) f['services.motoPort'] = options.motoPort
  return f
}

function which(options: ServicesOptions): ServiceName[] {
  return options.only ? [options.only] : [...ALL_SERVICES]
}

export function addServicesCommand(program: Command, ctx: CommandContext): void {
  const services = program
    .command('services')
    .description(
      'start, stop and inspect the local services: Apache Kafka 4 (KRaft) and moto (S3, IoT, Glue)',
    )
  const common = (cmd: Command) =>
    cmd
      .addOption(new Option('--only <service>', 'act on one service').choices([...ALL_SERVICES]))
      .option('--home <dir>', 'folder for jars, data, venv, logs and pid files (default <repo>/.pedepronto)')
      .option('--kafka-port <port>', 'Kafka client port (default 9092)')
      .option('--moto-port <port>', 'moto port (default 4566)')
      .option('--json', 'print machine-readable JSON')

  common(services.command('up'))
    .description('start the services unless they run (idempotent) and wait until each is ready')
    .action(async (options: ServicesOptions) => {
      const s = loadServices({ flags: flags(options) })
      const results = await servicesUp(s, which(options), (line) => ctx.err(`${line}\n`))
      if (options.json) ctx.out(`${JSON.stringify(results)}\n`)
      else
        for (const r of results)
          ctx.out(
            `${r.service.padEnd(6)} ${r.action.padEnd(8)} ${r.endpoint}  ready in ${(r.readyMs / 1000).toFixed(1)} s\n`,
          )
    })

  common(services.command('down'))
    .description('stop the services this project started (external ones are left alone)')
    .action(async (options: ServicesOptions) => {
      const s = loadServices({ flags: flags(options) })
      const results = await servicesDown(s, which(options))
      if (options.json) ctx.out(`${JSON.stringify(results)}\n`)
      else for (const r of results) ctx.out(`${r.service.padEnd(6)} ${r.action}\n`)
    })

  common(services.command('status'))
    .description('show whether each service is ready, and which Debian tools are installed')
    .action(async (options: ServicesOptions) => {
      const s = loadServices({ flags: flags(options) })
      const status = await servicesStatus(s)
      const tools = toolStatus()
      if (options.json) {
        ctx.out(`${JSON.stringify({ services: status, tools })}\n`)
      } else {
        for (const r of status) {
          ctx.out(
            `${r.service.padEnd(6)} ${(r.ready ? 'ready' : 'DOWN').padEnd(6)} ${r.endpoint.padEnd(24)} ${r.managed}${r.pid ? ` pid ${r.pid}` : ''}  ${r.detail}\n`,
          )
        }
        const missing = tools.filter((t) => !t.found)
        ctx.out(
          `tools  ${tools.map((t) => `${t.command}${t.found ? ` ${t.version}` : ' MISSING'}`).join(', ')}\n`,
        )
        if (missing.length > 0)
          ctx.out(`       install: ${aptInstallLine([...new Set(missing.map((t) => t.pkg))])}\n`)
      }
      const wanted = status.filter((r) => which(options).includes(r.service))
      if (wanted.some((r) => !r.ready)) {
        throw new PedeProntoError(
          'SVC_KAFKA_UNREACHABLE',
          `not ready: ${wanted
            .filter((r) => !r.ready)
            .map((r) => r.service)
            .join(', ')}`,
          {
            exitCode: ExitCode.UNAVAILABLE,
            hint: 'run `pedepronto services up`',
          },
        )
      }
    })

  services
    .command('packages')
    .description('print the Debian packages the tests and the demo need, as an apt-get line')
    .action(() => {
      ctx.out(`${aptInstallLine(DEBIAN_PACKAGES)}\n`)
    })
}
