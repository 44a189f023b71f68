/**
 * The two ISO-8601 timestamp spellings the wire uses, named once. AWS prints S3 dates
 * (LastModified, CreationDate, Initiated) and the admin API's and Lyve's JSON with milliseconds;
 * STS Expiration and the ServerTime/Expires details of signature errors at whole seconds, as AWS
 * does. Both are UTC with a `Z`.
 * @module
 */

/** `2026-01-02T03:04:05.678Z`: ISO-8601 with milliseconds. */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString()
}

/** `2026-01-02T03:04:05Z`: ISO-8601 truncated to whole seconds (never rounded up). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
