import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  configLeaves,
  configTable,
  envName,
  flagName,
  KafkaSection,
  loadConfig,
} from '../src/index.js'

const Schema = Type.Object(
  {
    gateway: Type.Object(
      {
        port: Type.Integer({ minimum: 1, maximum: 65535, default: 1883, description: 'MQTT port.' }),
        profile: Type.Union([Type.Literal('local'), Type.Literal('production')], { default: 'local' }),
        verbose: Type.Boolean({ default: false }),
        ports: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      },
      { additionalProperties: false },
    ),
    kafka: KafkaSection,
  },
  { additionalProperties: false },
)

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('fills every default when nothing is given', () => {
    expect(loadConfig('gateway', Schema, { env: {} })).toEqual({
      gateway: { port: 1883, profile: 'local', verbose: false, ports: [] },
      kafka: { brokers: ['127.0.0.1:9092'], clientId: 'pedepronto', topicPrefix: '', connectTimeoutMs: 5000 },
    })
  })

  it('maps environment variables onto keys with their types', () => {
    const config = loadConfig('gateway', Schema, {
      env: {
        PEDEPRONTO_GATEWAY_PORT: '2883',
        PEDEPRONTO_GATEWAY_VERBOSE: 'yes',
        PEDEPRONTO_GATEWAY_PORTS: '/dev/ttyUSB0, /dev/ttyACM0',
        PEDEPRONTO_KAFKA_BROKERS: 'k1:9092,k2:9092',
        PEDEPRONTO_KAFKA_CONNECT_TIMEOUT_MS: '250',
      },
    })
    expect(config.gateway).toEqual({
      port: 2883,
      profile: 'local',
      verbose: true,
      ports: ['/dev/ttyUSB0', '/dev/ttyACM0'],
    })
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092'])
    expect(config.kafka.connectTimeoutMs).toBe(250)
  })

  it('lets flags win over env, and env over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-config-'))
    const file = join(dir, 'gateway.json')
    writeFileSync(file, JSON.stringify({ gateway: { port: 1000, profile: 'production' } }))
    const config = loadConfig('gateway', Schema, {
      file,
      env: { PEDEPRONTO_GATEWAY_PORT: '2000' },
      flags: { 'gateway.port': '3000' },
    })
    expect(config.gateway.port).toBe(3000)
    expect(config.gateway.profile).toBe('production')
  })

  it('reports every problem at once with key, value and expected form', () => {
    const problems = problemsOf(() =>
      loadConfig('gateway', Schema, {
        env: {
          PEDEPRONTO_GATEWAY_PORT: 'eighty',
          PEDEPRONTO_GATEWAY_PROFILE: 'staging',
          PEDEPRONTO_GATEWAY_VERBOSE: 'maybe',
          PEDEPRONTO_KAFKA_BROKRES: 'k1:9092',
          PEDEPRONTO_KAFKA_BROKERS: 'no-port',
          PEDEPRONTO_SIM_RATE: '5', // another component's key: not ours to judge
        },
      }),
    )
    expect(problems).toEqual([
      {
        key: 'PEDEPRONTO_KAFKA_BROKRES',
        source: 'unknown-env',
        value: '"k1:9092"',
        expected: 'a known key (PEDEPRONTO_KAFKA_BROKERS)',
      },
      { key: 'gateway.port', source: 'env', value: '"eighty"', expected: 'an integer from 1 to 65535' },
      { key: 'gateway.verbose', source: 'env', value: '"maybe"', expected: 'true or false' },
      { key: 'gateway.profile', source: 'env', value: '"staging"', expected: 'one of: local | production' },
      {
        key: 'kafka.brokers',
        source: 'env',
        value: '["no-port"]',
        expected: 'a comma-separated list of a string like "127.0.0.1:9092"',
      },
    ])
  })

  it('rejects out-of-range numbers and unknown keys in a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-config-'))
    const file = join(dir, 'gateway.json')
    writeFileSync(file, JSON.stringify({ gateway: { port: 70000, colour: 'blue' } }))
    const problems = problemsOf(() => loadConfig('gateway', Schema, { file, env: {} }))
    expect(problems).toEqual([
      { key: 'gateway.colour', source: 'unknown-file-key', value: '"blue"', expected: 'no such key' },
      { key: 'gateway.port', source: 'file', value: '70000', expected: 'an integer from 1 to 65535' },
    ])
  })

  it('formats one readable message naming every key', () => {
    try {
      loadConfig('gateway', Schema, { env: { PEDEPRONTO_GATEWAY_PORT: '0', PEDEPRONTO_KAFKA_CLIENT_ID: '' } })
      expect.unreachable()
    } catch (error) {
      expect((error as ConfigError).message).toBe(
        'invalid gateway configuration (2 problems):\n' +
          '  - gateway.port (env PEDEPRONTO_GATEWAY_PORT): got 0; expected an integer from 1 to 65535\n' +
          '  - kafka.clientId (env PEDEPRONTO_KAFKA_CLIENT_ID): got ""; expected a non-empty string',
      )
      expect((error as ConfigError).exitCode).toBe(78)
    }
  })

  it('names env variables and flags from keys', () => {
    expect(envName('kafka.connectTimeoutMs')).toBe('PEDEPRONTO_KAFKA_CONNECT_TIMEOUT_MS')
    expect(flagName('kafka.connectTimeoutMs')).toBe('--kafka-connect-timeout-ms')
    expect(configLeaves(Schema).map((l) => l.key)).toEqual([
      'gateway.port',
      'gateway.profile',
      'gateway.verbose',
      'gateway.ports',
      'kafka.brokers',
      'kafka.clientId',
      'kafka.topicPrefix',
      'kafka.connectTimeoutMs',
    ])
    expect(configTable(Schema).split('\n')[2]).toBe(
      '| `gateway.port` | `PEDEPRONTO_GATEWAY_PORT` | an integer from 1 to 65535 | `1883` | MQTT port. |',
    )
  })
})
