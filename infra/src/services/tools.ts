/**
 * The Debian tools the tests and the demo use. `.ci/run` installs them; `services status` reports
 * which are missing, with the apt-get line that brings them.
 */
import { spawnSync } from 'node:child_process'

export const DEBIAN_PACKAGES = [
  'mosquitto',
  'mosquitto-clients',
  'socat',
  'kcat',
  'simavr',
  'libsimavr-dev',
  'libelf-dev',
  'gcc-avr',
  'avr-libc',
  'avrdude',
] as const

/** One command per tool we call, with the package that provides it. */
export const TOOLS = [
  { command: 'java', pkg: 'openjdk-17-jre-headless', versionArgs: ['-version'] },
  { command: 'mvn', pkg: 'maven', versionArgs: ['-v'] },
  { command: 'python3', pkg: 'python3-venv', versionArgs: ['--version'] },
  { command: 'mosquitto', pkg: 'mosquitto', versionArgs: ['-h'] },
  { command: 'mosquitto_pub', pkg: 'mosquitto-clients', versionArgs: ['--help'] },
  { command: 'socat', pkg: 'socat', versionArgs: ['-V'] },
  { command: 'kcat', pkg: 'kcat', versionArgs: ['-V'] },
  { command: 'simavr', pkg: 'simavr', versionArgs: ['--help'] },
  { command: 'avr-gcc', pkg: 'gcc-avr', versionArgs: ['--version'] },
  { command: 'avrdude', pkg: 'avrdude', versionArgs: ['-?'] },
] as const

export interface ToolStatus {
  command: string
  pkg: string
  found: boolean
  version: string
}

export function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

export function toolStatus(): ToolStatus[] {
  return TOOLS.map((t) => {
    const path = which(t.command)
    if (!path) return { command: t.command, pkg: t.pkg, found: false, version: '' }
    const r = spawnSync(t.command, [...t.versionArgs], { encoding: 'utf8', timeout: 5_000 })
    const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`
    const match = text.match(/\d+\.\d+(\.\d+)?/)
    return { command: t.command, pkg: t.pkg, found: true, version: match ? match[0] : '?' }
  })
}

export function aptInstallLine(missing: readonly string[]): string {
  return `sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`
}
