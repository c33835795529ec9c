// Downlink commands, gateway → device (published on the device's MQTT cmd topic or as a serial frame).
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { EpochMsSchema, IdSchema, literalUnion, SchemaVersionSchema, Uuidv7Schema } from './common.js'

export const COMMAND_TYPES = ['order.ready', 'config', 'reboot'] as const
export type CommandType = (typeof COMMAND_TYPES)[number]
export const CommandTypeSchema = literalUnion(COMMAND_TYPES, { description: 'Command type' })

export const CONFIG_MAX_SETTINGS = 32
/** Setting names are plain identifiers so a C firmware can match them with strcmp, no unescaping. */
export const CONFIG_KEY_PATTERN = '^[A-Za-z0-9_.-]{1,64}$'
export const CONFIG_STRING_MAX_LENGTH = 256

export const OrderReadyCommandPayloadSchema = Type.Object(
  {
    order_id: IdSchema,
    pickup_code: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })),
    message: Type.String({ minLength: 1, maxLength: 120 }),
  },
  { additionalProperties: false },
)

export const ConfigCommandPayloadSchema = Type.Object(
  {
    settings: Type.Record(
      Type.String({ pattern: CONFIG_KEY_PATTERN }),
      Type.Union([Type.String({ maxLength: CONFIG_STRING_MAX_LENGTH }), Type.Number(), Type.Boolean()]),
      { maxProperties: CONFIG_MAX_SETTINGS, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const RebootCommandPayloadSchema = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 120 })) },
  { additionalProperties: false },
)

function commandSchema<K extends CommandType, P extends TSchema>(type: K, payload: P) {
  return Type.Object(
    {
      v: SchemaVersionSchema,
      command_id: Uuidv7Schema,
      type: Type.Literal(type),
      device_id: IdSchema,
      restaurant_id: IdSchema,
      issued_at: EpochMsSchema,
      // Semantic rule (validate.ts): later than issued_at. A device drops expired commands, so a
      // pager that reconnects after an hour does not beep for an order picked up long ago.
      expires_at: EpochMsSchema,
      payload,
    },
    { additionalProperties: false, title: `Command ${type}` },
  )
}

export const OrderReadyCommandSchema = commandSchema('order.ready', OrderReadyCommandPayloadSchema)
export const ConfigCommandSchema = commandSchema('config', ConfigCommandPayloadSchema)
export const RebootCommandSchema = commandSchema('reboot', RebootCommandPayloadSchema)

export const CommandSchema = Type.Union([OrderReadyCommandSchema, ConfigCommandSchema, RebootCommandSchema], {
  title: 'Command',
})

export const COMMAND_SCHEMAS = {
  'order.ready': OrderReadyCommandSchema,
  config: ConfigCommandSchema,
  reboot: RebootCommandSchema,
} as const satisfies { [K in CommandType]: TSchema }

/** Envelope with an unchecked payload: the fallback when `type` is missing or unknown. */
export const CommandEnvelopeSchema = Type.Object(
  {
    v: SchemaVersionSchema,
    command_id: Uuidv7Schema,
    type: CommandTypeSchema,
    device_id: IdSchema,
    restaurant_id: IdSchema,
    issued_at: EpochMsSchema,
    expires_at: EpochMsSchema,
    payload: Type.Unknown(),
  },
  { additionalProperties: false, title: 'CommandEnvelope' },
)

export type OrderReadyCommandPayload = Static<typeof OrderReadyCommandPayloadSchema>
export type ConfigCommandPayload = Static<typeof ConfigCommandPayloadSchema>
export type RebootCommandPayload = Static<typeof RebootCommandPayloadSchema>
export type OrderReadyCommand = Static<typeof OrderReadyCommandSchema>
export type ConfigCommand = Static<typeof ConfigCommandSchema>
export type RebootCommand = Static<typeof RebootCommandSchema>
export type Command = Static<typeof CommandSchema>
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>
