export {
  DEFAULT_TEST_APPLICATION_ID,
  type DeadLetterRecord,
  TestInputTopic,
  TestOutputTopic,
  TopologyTestDriver,
  type TestRecord,
  type TopologyTestDriverOptions,
} from './driver.ts'
