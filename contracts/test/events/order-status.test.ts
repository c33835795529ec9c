import { describe, expect, it } from 'vitest'
import {
  isLegalTransition,
  isTerminal,
  ORDER_STATUSES,
  ORDER_TRANSITIONS,
  type OrderStatus,
  TERMINAL_ORDER_STATUSES,
} from '../../src/events/index.js'

// The lifecycle written out pair by pair, independently of ORDER_TRANSITIONS.
const LEGAL = new Set([
  'null→received',
  'received→accepted',
  'received→rejected',
  'received→cancelled',
  'accepted→preparing',
  'accepted→cancelled',
  'preparing→ready',
  'preparing→cancelled',
  'ready→picked_up',
])

describe('order transitions', () => {
  it('lists the seven statuses in lifecycle order', () => {
    expect(ORDER_STATUSES).toEqual([
      'received',
      'accepted',
      'preparing',
      'ready',
      'picked_up',
      'cancelled',
      'rejected',
    ])
  })

  it('every (from, to) pair is legal exactly when listed', () => {
    const froms: (OrderStatus | null)[] = [null, ...ORDER_STATUSES]
    let checked = 0
    for (const from of froms) {
      for (const to of ORDER_STATUSES) {
        expect([`${from}→${to}`, isLegalTransition(from, to)]).toEqual([
          `${from}→${to}`,
          LEGAL.has(`${from}→${to}`),
        ])
        checked++
      }
    }
    expect(checked).toBe(8 * 7)
  })

  it('the table and the function agree', () => {
    for (const from of ORDER_STATUSES) {
      expect(ORDER_STATUSES.filter((to) => isLegalTransition(from, to))).toEqual(
        ORDER_STATUSES.filter((to) => ORDER_TRANSITIONS[from].includes(to)),
      )
    }
  })

  it('terminal statuses are picked_up, cancelled and rejected', () => {
    expect(TERMINAL_ORDER_STATUSES).toEqual(['picked_up', 'cancelled', 'rejected'])
    expect(ORDER_STATUSES.filter(isTerminal)).toEqual(['picked_up', 'cancelled', 'rejected'])
  })

  it('does not throw on strings from untyped input', () => {
    expect(isLegalTransition('constructor' as OrderStatus, 'received')).toBe(false)
    expect(isTerminal('toString' as OrderStatus)).toBe(false)
  })
})
