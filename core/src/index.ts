export * from './log/index.ts'
export * from './streams/index.ts'
export * from './state/index.ts'
