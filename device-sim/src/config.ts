import { type Static, Type } from '@sinclair/typebox'

/** Configuration of `pedepronto sim` (issue #3 builds the simulator on it). */
export const SimConfigSchema = Type.Object(
  {
    sim: Type.Object(
      {
        broker: Type.String({
          default: 'mqtt://127.0.0.1:1883',
          examples: ['mqtts://gateway:8883'],
          description: 'MQTT broker URL the devices connect to.',
        }),
        restaurants: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 2,
          description: 'Number of simulated restaurants.',
        }),
        devicesPerRestaurant: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 6,
          description: 'Devices per restaurant (kiosks, kitchen terminal, pagers, sensors).',
        }),
        rate: Type.Number({
          exclusiveMinimum: 0,
          maximum: 1_000_000,
          default: 5,
          description: 'Mean order arrival rate per second across all restaurants (Poisson).',
        }),
        durationS: Type.Number({
          exclusiveMinimum: 0,
          maximum: 86_400,
          default: 30,
          description: 'How long the simulation runs, in seconds.',
        }),
        seed: Type.Integer({
          minimum: 0,
          maximum: 2 ** 32 - 1,
          default: 42,
          description: 'Seed of every random choice: one seed, one event stream.',
        }),
        tlsDir: Type.String({
          default: '',
          description:
            'Folder with ca.pem and per-device certificates; empty means plain MQTT (loopback only).',
        }),
        offlineQueueMax: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          default: 1_000,
          description: 'Events a device queues while disconnected before dropping its oldest.',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export type SimConfig = Static<typeof SimConfigSchema>
