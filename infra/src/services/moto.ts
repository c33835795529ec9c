/**
 * moto in server mode on loopback: one port serves S3, IoT, the IoT data plane and Glue (moto routes
 * by the service named in each request's SigV4 credential scope). Installed with pip into a
 * git-ignored venv from infra/moto/requirements.txt.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { ExitCode, PedeProntoError } from '@pedepronto/common'
import { REPO_ROOT, type ServicePaths, servicePaths } from '../paths.js'
import {
  type ManagedProcess,
  portOpen,
  runningPid,
  startDetached,
  stopProcess,
  tailFile,
  waitUntil,
} from './process.js'

export interface LocalMotoOptions {
  home: string
  port: number
  readyTimeoutMs: number
  /** The venv with moto; defaults to the home's. Scratch instances share the main one. */
  venvDir?: string
}

/** Credentials moto accepts; never real ones. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const

export function ensureMotoVenv(paths: ServicePaths, log: (line: string) => void = () => {}): string {
  const bin = join(paths.venv, 'bin', 'moto_server')
  if (existsSync(bin)) return bin
  log(`installing moto into ${paths.venv} (pip, one time)`)
  mkdirSync(paths.home, { recursive: true })
  const python = process.env.PYTHON ?? 'python3'
  const venv = spawnSync(python, ['-m', 'venv', paths.venv], { encoding: 'utf8' })
  const pip =
    venv.status === 0
      ? spawnSync(
          join(paths.venv, 'bin', 'pip'),
          [
            'install',
            '-q',
            '--disable-pip-version-check',
            '-r',
            join(REPO_ROOT, 'infra', 'moto', 'requirements.txt'),
          ],
          {
            encoding: 'utf8',
          },
        )
      : venv
  if (pip.error || pip.status !== 0 || !existsSync(bin)) {
    throw new PedeProntoError(
      'SVC_INSTALL_FAILED',
      `could not install moto: ${pip.error?.message ?? `${pip.stdout}${pip.stderr}`.slice(-800)}`,
      {
        hint: 'install Python 3 with venv and pip (Debian: python3-venv), check that PyPI is reachable, then run `pedepronto services up` again',
        exitCode: ExitCode.UNAVAILABLE,
      },
    )
  }
  return bin
}

export class LocalMoto {
  readonly paths: ServicePaths
  readonly options: LocalMotoOptions
  readonly process: ManagedProcess

  constructor(options: LocalMotoOptions) {
    this.options = options
    const paths = servicePaths(options.home)
    this.paths = options.venvDir ? { ...paths, venv: options.venvDir } : paths
    this.process = {
      name: 'moto',
      pidFile: join(this.paths.run, 'moto.pid'),
      logFile: join(this.paths.logs, 'moto.log'),
    }
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.port}`
  }

  pid(): number | undefined {
    return runningPid(this.process)
  }

  async up(log: (line: string) => void = () => {}): Promise<{ started: boolean; readyMs: number }> {
    const t0 = Date.now()
    if (this.pid() !== undefined) {
      await awsReady(this.endpoint, this.options.readyTimeoutMs)
      return { started: false, readyMs: Date.now() - t0 }
    }
    if (await portOpen('127.0.0.1', this.options.port)) {
      throw new PedeProntoError(
        'SVC_PORT_IN_USE',
        `port ${this.options.port} on 127.0.0.1 is taken by a process that is not our moto`,
        {
          hint: 'stop that process, set PEDEPRONTO_SERVICES_MOTO_PORT, or point PEDEPRONTO_AWS_ENDPOINT at an existing emulator',
          exitCode: ExitCode.UNAVAILABLE,
        },
      )
    }
    const bin = ensureMotoVenv(this.paths, log)
    log(`starting moto on ${this.endpoint}, log ${this.process.logFile}`)
    startDetached(this.process, bin, ['-H', '127.0.0.1', '-p', String(this.options.port)], {
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
    })
    const open = await waitUntil(
      () => portOpen('127.0.0.1', this.options.port),
      this.options.readyTimeoutMs,
      100,
    )
    if (!open || this.pid() === undefined) {
      throw new PedeProntoError(
        'SVC_START_FAILED',
        `moto did not open ${this.endpoint}. Last log lines:\n${tailFile(this.process.logFile)}`,
        {
          hint: `read ${this.process.logFile}`,
          exitCode: ExitCode.UNAVAILABLE,
        },
      )
    }
    await awsReady(this.endpoint, this.options.readyTimeoutMs)
    return { started: true, readyMs: Date.now() - t0 }
  }

  async down(): Promise<'stopped' | 'killed' | 'not-running'> {
    return stopProcess(this.process, 10_000)
  }
}

/** Readiness: an S3 ListBuckets answered by the endpoint. */
export async function awsReady(
  endpoint: string,
  timeoutMs = 30_000,
  region = 'us-east-1',
): Promise<{ ms: number }> {
  const t0 = Date.now()
  const s3 = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
  })
  try {
    const ok = await waitUntil(
      async () => {
        try {
          await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(2_000) })
          return true
        } catch {
          return false
        }
      },
      timeoutMs,
      200,
    )
    if (!ok) {
      throw new PedeProntoError(
        'SVC_AWS_UNREACHABLE',
        `the AWS endpoint ${endpoint} did not answer S3 ListBuckets within ${timeoutMs} ms`,
        {
          canRetry: true,
          exitCode: ExitCode.UNAVAILABLE,
          hint: 'start the local services with `pedepronto services up`, or set PEDEPRONTO_AWS_ENDPOINT to a reachable endpoint',
        },
      )
    }
  } finally {
    s3.destroy()
  }
  return { ms: Date.now() - t0 }
}
