export {
  DEFAULT_TEST_APPLICATION_ID,
  TestInputTopic,
  TestOutputTopic,
  TopologyTestDriver,
  type TestRecord,
  type TopologyTestDriverOptions,
} from './driver.ts'
