// @vigil/firmware-sim has no code yet; see the open issues.
export {}
