import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: this file lives in infra/src (sources) or infra/dist (built). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** Where local services keep jars, data, venvs, logs and pid files (git-ignored). */
export function servicesHome(configured = ''): string {
  if (configured) return resolve(configured)
  return process.env.PEDEPRONTO_HOME ? resolve(process.env.PEDEPRONTO_HOME) : join(REPO_ROOT, '.pedepronto')
}

export interface ServicePaths {
  home: string
  logs: string
  run: string
  kafkaLibs: string
  kafkaData: string
  kafkaConfig: string
  venv: string
  motoData: string
}

export function servicePaths(home: string): ServicePaths {
  return {
    home,
    logs: join(home, 'logs'),
    run: join(home, 'run'),
    kafkaLibs: join(home, 'kafka', 'libs'),
    kafkaData: join(home, 'kafka', 'data'),
    kafkaConfig: join(home, 'kafka', 'config'),
    venv: join(home, 'venv'),
    motoData: join(home, 'moto'),
  }
}
