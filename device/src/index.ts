export * from './replicate/index.ts'
