export const scenarioErrorCodes = ['SCENARIO_NOT_FOUND', 'SCENARIO_UNREADABLE', 'SCENARIO_INVALID'] as const
export type ScenarioErrorCode = (typeof scenarioErrorCodes)[number]

/** A problem in one field of a scenario file. `path` is a JSON path such as `patients[2].events[0].hrBpm`. */
export interface ScenarioIssue {
  readonly path: string
  readonly message: string
}

export class ScenarioError extends Error {
  readonly code: ScenarioErrorCode
  readonly retriable: boolean
  /** Every invalid field (SCENARIO_INVALID only). */
  readonly issues: readonly ScenarioIssue[]
  constructor(
    code: ScenarioErrorCode,
    message: string,
    options: ErrorOptions & { issues?: readonly ScenarioIssue[] } = {},
  ) {
    super(message, options)
    this.name = 'ScenarioError'
    this.code = code
    this.retriable = false
    this.issues = options.issues ?? []
  }
}
