export * from './log/index.ts'
