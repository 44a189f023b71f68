/**
 * The V8 flags the server runs with. `npm start` (scripts/start.mjs) passes them to the server's
 * process, the systemd unit in docs/ sets them in NODE_OPTIONS, and `npm run bench` starts every
 * server (and the bare node:http ceiling) with them, so the bench measures what is deployed. V8
 * reads them when the process starts; `v8.setFlagsFromString` is too late for the heap's sizes.
 *
 * `--max-semi-space-size=64` (MB; Node 20's default is 16): a larger young generation. What is
 * alive at a scavenge is copied by it, and a busy server always has some alive (the requests in
 * flight, the audit queue's ~100 ms of events, the group commit's queue), so fewer scavenges
 * copy less. Measured on AssumeRole (33 KB allocated per call): 207 → 55 scavenges per 85,000
 * calls, scavenge pauses 4.2 → 2.4 µs per call; in paired rounds of server CPU per request,
 * AssumeRole −5.6 µs (32 MB: −3.5; 128 MB: no better than 64), a 4 KiB PUT −3.3, the upload
 * flow −3.5, a 4 KiB GET and a session GET unchanged. The young generation grows to it only
 * under load; resident memory under an AssumeRole load stayed within its run-to-run spread
 * (350-430 MB with 100,000 cached sessions either way).
 * @module
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64']
