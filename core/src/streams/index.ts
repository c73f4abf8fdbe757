export { StreamsError, streamsErrorCodes, type StreamsErrorCode } from './errors.ts'
export { JoinWindows, SessionWindows, SlidingWindows, TimeWindows, type Window } from './windows.ts'
