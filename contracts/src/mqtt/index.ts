export * from './topics.js'
