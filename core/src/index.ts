export * from './log/index.ts'
export * from './streams/index.ts'
