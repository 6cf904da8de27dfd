/**
 * Header on every admitted request's answer: when the app admitted it (epoch ms,
 * fractional). Shared with the load tool, which measures the admitted rate from it.
 */
export const ADMITTED_AT_HEADER = 'x-admitted-at';
