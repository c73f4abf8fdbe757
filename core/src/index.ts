export { CodedError } from './coded-error.ts'
export * from './log/index.ts'
export * from './streams/index.ts'
export * from './state/index.ts'
