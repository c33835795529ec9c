// The one source of truth for what crosses a boundary (../shared/DESIGN.md, "Contracts").
// Pure: no sockets, clocks or files.
export * from './events/index.js'
export * from './kafka/index.js'
export * from './mqtt/index.js'
export * from './serial/index.js'
