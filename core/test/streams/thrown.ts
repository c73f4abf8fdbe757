import { StreamsError } from '../../src/streams/index.ts'

/** The StreamsError `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): StreamsError {
  try {
    fn()
  } catch (error) {
    if (error instanceof StreamsError) return error
    throw error
  }
  throw new Error('expected a StreamsError, but nothing was thrown')
}

/** The StreamsError `promise` rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<StreamsError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof StreamsError) return error
    throw error
  }
  throw new Error('expected a StreamsError rejection, but the promise resolved')
}
