// @vigil/device has no code yet; see the open issues.
export {}
