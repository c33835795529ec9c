export * from './headers.js'
export * from './topics.js'
