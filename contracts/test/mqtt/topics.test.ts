import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { COMMAND_TYPES, EVENT_TYPES } from '../../src/events/index.js'
import {
  commandSubscription,
  commandTopic,
  eventMatchesTopic,
  eventTopic,
  mayPublish,
  maySubscribe,
  parseTopic,
  topicFilterError,
} from '../../src/mqtt/index.js'
import { arbId } from '../arbitraries.js'

const RUNS = { numRuns: 10_000 }
const me = { restaurantId: 'r001', deviceId: 'kiosk-01' }
const arbIdentity = fc.record({ restaurantId: arbId, deviceId: arbId })
const arbEventType = fc.constantFrom(...EVENT_TYPES)
const arbCommandType = fc.constantFrom(...COMMAND_TYPES)

describe('topic builders', () => {
  it('build the documented topics', () => {
    expect(eventTopic('r001', 'kiosk-01', 'order.placed')).toBe('pp/v1/r001/kiosk-01/evt/order.placed')
    expect(commandTopic('r001', 'pager-07', 'order.ready')).toBe('pp/v1/r001/pager-07/cmd/order.ready')
    expect(commandSubscription('r001', 'pager-07')).toBe('pp/v1/r001/pager-07/cmd/+')
  })

  it.each([
    ['R001', 'kiosk-01'],
    ['r001', 'kiosk/01'],
    ['r001', '+'],
    ['', 'kiosk-01'],
    ['r001', '-kiosk'],
  ])('throw RangeError for ids %j / %j', (restaurantId, deviceId) => {
    expect(() => eventTopic(restaurantId, deviceId, 'order.placed')).toThrow(RangeError)
    expect(() => commandTopic(restaurantId, deviceId, 'reboot')).toThrow(RangeError)
    expect(() => commandSubscription(restaurantId, deviceId)).toThrow(RangeError)
  })
})

describe('parseTopic', () => {
  it('round-trips event and command topics', () => {
    fc.assert(
      fc.property(arbId, arbId, arbEventType, arbCommandType, (restaurantId, deviceId, evt, cmd) => {
        expect([
          parseTopic(eventTopic(restaurantId, deviceId, evt)),
          parseTopic(commandTopic(restaurantId, deviceId, cmd)),
        ]).toEqual([
          { ok: true, kind: 'evt', restaurantId, deviceId, type: evt },
          { ok: true, kind: 'cmd', restaurantId, deviceId, type: cmd },
        ])
      }),
      RUNS,
    )
  })

  it.each([
    ['', 'empty topic'],
    ['pp/v1/r001/kiosk-01/evt/+', 'wildcards + and # are not allowed in a topic name (MQTT 3.1.1 §4.7.1)'],
    [
      'pp/v1/r001/+/evt/order.placed',
      'wildcards + and # are not allowed in a topic name (MQTT 3.1.1 §4.7.1)',
    ],
    ['#', 'wildcards + and # are not allowed in a topic name (MQTT 3.1.1 §4.7.1)'],
    ['$SYS/broker/uptime', 'topics starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)'],
    ['pp/v1/r001/kiosk-01/evt/order.placed\u0000', 'topic contains U+0000 (MQTT 3.1.1 §4.7.3)'],
    ['pp/v1//kiosk-01/evt/order.placed', 'empty topic level at position 2'],
    ['/pp/v1/r001/kiosk-01/evt/order.placed', 'empty topic level at position 0'],
    ['pp/v1/r001/kiosk-01/evt/order.placed/', 'empty topic level at position 6'],
    ['xx/v1/r001/kiosk-01/evt/order.placed', 'topic must start with pp/'],
    ['PP/v1/r001/kiosk-01/evt/order.placed', 'topic must start with pp/'],
    ['pp/v2/r001/kiosk-01/evt/order.placed', 'unsupported topic version "v2", expected v1'],
    ['pp', 'expected 6 levels pp/v1/{restaurant}/{device}/{evt|cmd}/{type}'],
    ['pp/v1/r001/kiosk-01/evt', 'expected 6 levels pp/v1/{restaurant}/{device}/{evt|cmd}/{type}'],
    [
      'pp/v1/r001/kiosk-01/evt/order.placed/x',
      'expected 6 levels pp/v1/{restaurant}/{device}/{evt|cmd}/{type}',
    ],
    ['pp/v1/R001/kiosk-01/evt/order.placed', 'restaurant id does not match the id pattern'],
    ['pp/v1/r001/Kiosk-01/evt/order.placed', 'device id does not match the id pattern'],
    ['pp/v1/r001/kiosk 01/evt/order.placed', 'device id does not match the id pattern'],
    ['pp/v1/r001/kiosk-01/evt/order.shipped', 'unknown event type "order.shipped"'],
    ['pp/v1/r001/kiosk-01/evt/reboot', 'unknown event type "reboot"'],
    ['pp/v1/r001/kiosk-01/cmd/order.placed', 'unknown command type "order.placed"'],
    ['pp/v1/r001/kiosk-01/log/order.placed', 'unknown topic kind "log", expected evt or cmd'],
  ])('rejects %j', (topic, reason) => {
    expect(parseTopic(topic)).toEqual({ ok: false, reason })
  })

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (topic) => {
        const result = parseTopic(topic)
        return !result.ok || topic.startsWith('pp/v1/')
      }),
      { numRuns: 2000 },
    )
  })
})

describe('mayPublish', () => {
  it('allows a device its own event topics only', () => {
    for (const type of EVENT_TYPES)
      expect(mayPublish(me, eventTopic('r001', 'kiosk-01', type))).toEqual({ allowed: true })
    expect(mayPublish(me, 'pp/v1/r001/kiosk-02/evt/order.placed')).toEqual({
      allowed: false,
      reason: 'topic belongs to r001/kiosk-02, not to this device',
    })
    expect(mayPublish(me, 'pp/v1/r002/kiosk-01/evt/order.placed')).toEqual({
      allowed: false,
      reason: 'topic belongs to r002/kiosk-01, not to this device',
    })
    expect(mayPublish(me, 'pp/v1/r001/kiosk-01/cmd/reboot')).toEqual({
      allowed: false,
      reason: 'devices may publish events only, not on cmd topics',
    })
    expect(mayPublish(me, '$SYS/broker/clients')).toEqual({
      allowed: false,
      reason: 'topics starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)',
    })
    expect(mayPublish(me, 'pp/v1/r001/kiosk-01/evt/#').allowed).toBe(false)
  })

  it('one identity can never publish on another identity’s topic, but always on its own', () => {
    fc.assert(
      fc.property(arbIdentity, arbIdentity, arbEventType, (a, b, type) => {
        fc.pre(a.restaurantId !== b.restaurantId || a.deviceId !== b.deviceId)
        const topic = eventTopic(a.restaurantId, a.deviceId, type)
        return mayPublish(a, topic).allowed && !mayPublish(b, topic).allowed
      }),
      RUNS,
    )
  })

  it('allows only exact own event topics among topic-like strings', () => {
    // Topic-like strings: levels drawn from ids, the identity's own ids, wildcards and odd pieces.
    const level = fc.oneof(
      fc.constantFrom(
        'pp',
        'v1',
        'evt',
        'cmd',
        'r001',
        'kiosk-01',
        '+',
        '#',
        '',
        '$SYS',
        'PP',
        ...EVENT_TYPES,
      ),
      arbId,
    )
    const ownEvents = new Set(EVENT_TYPES.map((t) => `pp/v1/r001/kiosk-01/evt/${t}`))
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 8 }), (levels) => {
        const topic = levels.join('/')
        return mayPublish(me, topic).allowed === ownEvents.has(topic)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('maySubscribe', () => {
  it.each([
    'pp/v1/r001/kiosk-01/cmd/+',
    'pp/v1/r001/kiosk-01/cmd/#',
    'pp/v1/r001/kiosk-01/cmd/order.ready',
    'pp/v1/r001/kiosk-01/cmd/config',
    'pp/v1/r001/kiosk-01/cmd/reboot',
  ])('allows %j', (filter) => {
    expect(maySubscribe(me, filter)).toEqual({ allowed: true })
  })

  const WILDCARD_ELSEWHERE =
    'wildcards are allowed only as the last level of the own command topic (…/cmd/+ or …/cmd/#)'
  it.each([
    ['#', WILDCARD_ELSEWHERE],
    ['+', WILDCARD_ELSEWHERE],
    ['$SYS/#', 'topic filters starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)'],
    [
      '$share/g/pp/v1/r001/kiosk-01/cmd/+',
      'topic filters starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)',
    ],
    ['pp/#', WILDCARD_ELSEWHERE],
    ['pp/v1/+/kiosk-01/cmd/+', WILDCARD_ELSEWHERE],
    ['pp/v1/r001/+/cmd/+', WILDCARD_ELSEWHERE],
    ['pp/v1/r001/kiosk-01/#', WILDCARD_ELSEWHERE],
    ['pp/v1/r001/kiosk-01/+/order.ready', WILDCARD_ELSEWHERE],
    ['pp/v1/r001/kiosk-01/cmd/+/#', WILDCARD_ELSEWHERE],
    ['pp/v1/r001/kiosk-01/cmd/a#', "'#' must be the last level on its own (MQTT 3.1.1 §4.7.1.2)"],
    ['pp/v1/r001/kiosk-01/cmd/#/x', "'#' must be the last level on its own (MQTT 3.1.1 §4.7.1.2)"],
    ['pp/v1/r001/kiosk-01/cmd/re+', "'+' must occupy a whole level (MQTT 3.1.1 §4.7.1.3)"],
    ['', 'empty topic filter'],
    ['pp/v1/r001/kiosk-02/cmd/reboot', 'topic belongs to r001/kiosk-02, not to this device'],
    ['pp/v1/r002/kiosk-01/cmd/reboot', 'topic belongs to r002/kiosk-01, not to this device'],
    ['pp/v1/r001/kiosk-01/evt/order.placed', 'devices may subscribe to command topics only'],
    ['pp/v1/r001/kiosk-01/cmd', 'expected 6 levels pp/v1/{restaurant}/{device}/{evt|cmd}/{type}'],
    ['pp/v1/r001/kiosk-01/cmd/selfdestruct', 'unknown command type "selfdestruct"'],
  ])('refuses %j', (filter, reason) => {
    expect(maySubscribe(me, filter)).toEqual({ allowed: false, reason })
  })

  it('never allows a filter of another identity, and allows its own subscription', () => {
    fc.assert(
      fc.property(arbIdentity, arbIdentity, arbCommandType, (a, b, type) => {
        fc.pre(a.restaurantId !== b.restaurantId || a.deviceId !== b.deviceId)
        const filters = [
          commandSubscription(a.restaurantId, a.deviceId),
          `pp/v1/${a.restaurantId}/${a.deviceId}/cmd/#`,
          commandTopic(a.restaurantId, a.deviceId, type),
        ]
        return filters.every((filter) => maySubscribe(a, filter).allowed && !maySubscribe(b, filter).allowed)
      }),
      { numRuns: 3000 },
    )
  })

  it('allows exactly the own command filters among filter-like strings', () => {
    const level = fc.oneof(
      fc.constantFrom('pp', 'v1', 'evt', 'cmd', 'r001', 'kiosk-01', '+', '#', '', '$SYS', ...COMMAND_TYPES),
      arbId,
    )
    const own = new Set([
      'pp/v1/r001/kiosk-01/cmd/+',
      'pp/v1/r001/kiosk-01/cmd/#',
      ...COMMAND_TYPES.map((t) => `pp/v1/r001/kiosk-01/cmd/${t}`),
    ])
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 8 }), (levels) => {
        const filter = levels.join('/')
        return maySubscribe(me, filter).allowed === own.has(filter)
      }),
      { numRuns: 3000 },
    )
  })

  it('validates filter syntax per §4.7.1', () => {
    expect(topicFilterError('sport/tennis/#')).toBeNull()
    expect(topicFilterError('sport/+/player1')).toBeNull()
    expect(topicFilterError('+/+')).toBeNull()
    expect(topicFilterError('sport/tennis#')).toBe(
      "'#' must be the last level on its own (MQTT 3.1.1 §4.7.1.2)",
    )
    expect(topicFilterError('sport+')).toBe("'+' must occupy a whole level (MQTT 3.1.1 §4.7.1.3)")
  })
})

describe('eventMatchesTopic', () => {
  it('requires type, restaurant and device to agree with the topic', () => {
    const parsed = parseTopic('pp/v1/r001/kiosk-01/evt/order.placed')
    if (!parsed.ok) throw new Error(parsed.reason)
    const event = { type: 'order.placed', restaurant_id: 'r001', device_id: 'kiosk-01' }
    expect(eventMatchesTopic(parsed, event)).toBe(true)
    expect(eventMatchesTopic(parsed, { ...event, type: 'order.rated' })).toBe(false)
    expect(eventMatchesTopic(parsed, { ...event, restaurant_id: 'r002' })).toBe(false)
    expect(eventMatchesTopic(parsed, { ...event, device_id: 'kiosk-02' })).toBe(false)
  })
})
