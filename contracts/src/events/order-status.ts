// The order lifecycle as data, so the processor's state machine, the simulator and the tests share
// one table instead of three hand-written switch statements.

export const ORDER_STATUSES = [
  'received',
  'accepted',
  'preparing',
  'ready',
  'picked_up',
  'cancelled',
  'rejected',
] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

/** Legal next states. An empty list marks a terminal state. */
export const ORDER_TRANSITIONS: { readonly [S in OrderStatus]: readonly OrderStatus[] } = {
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['preparing', 'cancelled'],
  preparing: ['ready', 'cancelled'],
  ready: ['picked_up'],
  picked_up: [],
  cancelled: [],
  rejected: [],
}

export const TERMINAL_ORDER_STATUSES = ORDER_STATUSES.filter((s) => ORDER_TRANSITIONS[s].length === 0)

/** Statuses whose `order.status_changed` event must say why (a customer-facing explanation). */
export const STATUSES_REQUIRING_REASON: readonly OrderStatus[] = ['cancelled', 'rejected']

/**
 * Whether `from → to` is a step of the lifecycle. `from === null` is the first event of an order,
 * which may only create it as `received`.
 */
export function isLegalTransition(from: OrderStatus | null, to: OrderStatus): boolean {
  if (from === null) return to === 'received'
  // hasOwn: callers from untyped JSON may pass 'constructor' or other prototype keys.
  return Object.hasOwn(ORDER_TRANSITIONS, from) && ORDER_TRANSITIONS[from].includes(to)
}

export function isTerminal(status: OrderStatus): boolean {
  return Object.hasOwn(ORDER_TRANSITIONS, status) && ORDER_TRANSITIONS[status].length === 0
}
