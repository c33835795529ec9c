/**
 * Debian's mosquitto on loopback: a broker we did not write, for the simulator's tests and as the
 * neutral baseline in the gateway benchmark. Port 1884 by default so the gateway keeps 1883.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ExitCode, PedeProntoError } from '@pedepronto/common'
import { type ServicePaths, servicePaths } from '../paths.js'
import {
  killProcess,
  type ManagedProcess,
  portOpen,
  runningPid,
  startDetached,
  stopProcess,
  tailFile,
  waitUntil,
} from './process.js'
import { which } from './tools.js'

export interface LocalMosquittoOptions {
  home: string
  port: number
  readyTimeoutMs: number
}

export class LocalMosquitto {
  readonly paths: ServicePaths
  readonly options: LocalMosquittoOptions
  readonly process: ManagedProcess

  constructor(options: LocalMosquittoOptions) {
    this.options = options
    this.paths = servicePaths(options.home)
    this.process = {
      name: 'mosquitto',
      pidFile: join(this.paths.run, 'mosquitto.pid'),
      logFile: join(this.paths.logs, 'mosquitto.log'),
    }
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.options.port}`
  }

  pid(): number | undefined {
    return runningPid(this.process)
  }

  async up(log: (line: string) => void = () => {}): Promise<{ started: boolean; readyMs: number }> {
    const t0 = Date.now()
    if (this.pid() !== undefined) {
      await this.waitReady()
      return { started: false, readyMs: Date.now() - t0 }
    }
    const bin = which('mosquitto') ?? (which('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : undefined)
    if (!bin) {
      throw new PedeProntoError('SVC_TOOL_MISSING', 'mosquitto is not installed', {
        hint: 'sudo apt-get install -y mosquitto mosquitto-clients',
        exitCode: ExitCode.UNAVAILABLE,
      })
    }
    if (await portOpen('127.0.0.1', this.options.port)) {
      throw new PedeProntoError(
        'SVC_PORT_IN_USE',
        `port ${this.options.port} on 127.0.0.1 is taken by a process that is not our mosquitto`,
        {
          hint: 'stop that process or set PEDEPRONTO_SERVICES_MOSQUITTO_PORT',
          exitCode: ExitCode.UNAVAILABLE,
        },
      )
    }
    const confDir = join(this.paths.home, 'mosquitto')
    mkdirSync(confDir, { recursive: true })
    const conf = join(confDir, 'mosquitto.conf')
    writeFileSync(
      conf,
      [
        '# Written by `pedepronto services up`; plaintext on loopback only (local profile).',
        `listener ${this.options.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'max_queued_messages 100000',
        'max_inflight_messages 1000',
        'log_dest stdout',
        'log_type error',
        'log_type warning',
        'log_type notice',
        '',
      ].join('\n'),
    )
    log(`starting mosquitto on ${this.url}, log ${this.process.logFile}`)
    startDetached(this.process, bin, ['-c', conf])
    await this.waitReady()
    return { started: true, readyMs: Date.now() - t0 }
  }

  async waitReady(): Promise<void> {
    const ok = await waitUntil(
      () => portOpen('127.0.0.1', this.options.port),
      this.options.readyTimeoutMs,
      50,
    )
    if (!ok || this.pid() === undefined) {
      throw new PedeProntoError(
        'SVC_START_FAILED',
        `mosquitto did not open port ${this.options.port}. Last log lines:\n${tailFile(this.process.logFile)}`,
        {
          hint: `read ${this.process.logFile}`,
          exitCode: ExitCode.UNAVAILABLE,
        },
      )
    }
  }

  async down(): Promise<'stopped' | 'killed' | 'not-running'> {
    return stopProcess(this.process, 5_000)
  }

  async kill(): Promise<boolean> {
    return killProcess(this.process)
  }
}
