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
        serial: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Serial ports (comma-separated in env), one device each: device i of the fleet uses port i. Opened by path (ptys are not listed).',
        }),
        faults: Type.String({
          default: '',
          description: 'JSON file of fault rates (see device-sim/src/faults.ts); empty means no faults.',
        }),
        scenario: Type.String({
          default: '',
          description: 'JSON file of behaviour knobs (menu, distributions, rates); empty means the defaults.',
        }),
        speed: Type.Number({
          minimum: 0,
          maximum: 1_000_000,
          default: 1,
          description:
            'Virtual seconds per wall second in a live run; 0 runs as fast as acknowledgements allow.',
        }),
        start: Type.String({
          default: '2026-03-02T14:30:00Z',
          examples: ['2026-03-02T14:30:00Z'],
          description:
            'Virtual start time (ISO 8601) or "now"; a fixed start makes one seed give one stream.',
        }),
        pickupTrigger: Type.Union([Type.Literal('sim'), Type.Literal('command')], {
          default: 'sim',
          description:
            "sim: the kitchen's ready triggers the pickup; command: pagers wait for a real order.ready command.",
        }),
        window: Type.Integer({
          minimum: 1,
          maximum: 65_535,
          default: 8,
          description: 'QoS 1 messages in flight per device.',
        }),
        ackTimeoutMs: Type.Integer({
          minimum: 10,
          maximum: 600_000,
          default: 10_000,
          description:
            'No acknowledgement within this time drops the link; unacknowledged messages are resent.',
        }),
        reconnectBaseMs: Type.Integer({
          minimum: 1,
          maximum: 600_000,
          default: 250,
          description: 'First reconnect backoff ceiling (exponential, full jitter).',
        }),
        reconnectCapMs: Type.Integer({
          minimum: 1,
          maximum: 3_600_000,
          default: 15_000,
          description: 'Largest reconnect backoff ceiling.',
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export type SimConfig = Static<typeof SimConfigSchema>
