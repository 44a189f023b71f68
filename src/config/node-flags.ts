/**
 * The V8 flags the server runs with. The `latchkey` command's own first line names them
 * (`#!/usr/bin/env -S node …` in src/main.ts, checked by test/packaging/node-flags-docs.test.ts),
 * so `npx latchkey serve` and the systemd unit's ExecStart get them; `npm start`
 * (scripts/start.mjs) passes them to the server's process, and `npm run bench` starts every server
 * (and the bare node:http ceiling) with them, so the bench measures what is deployed. V8 reads
 * them when the process starts: `v8.setFlagsFromString` is too late for both (for the memory
 * reducer too: measured, no effect), and node refuses `--no-memory-reducer` in NODE_OPTIONS.
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
 *
 * `--no-memory-reducer`: V8 does not shrink the heap when the process has been idle for ~8 s. A
 * server's load comes in bursts, and after such a shrink the next burst ran on a small young
 * generation and a low old-generation limit, with mark-compacts every second or so (23 in 15 s of
 * 4 KiB GETs where a server that had not idled ran none). Measured 2026-12-05 in paired rounds
 * with 10 s of idle before each 3 s burst: a 4 KiB GET 45.9 → 39.3 µs of server CPU (rounds up to
 * 55 µs, 45 with it), AssumeRole 101.6 → 95.9 µs (−7.2 paired); without the idle, within the noise
 * (−1.3 and +2.2 µs). The price: an idle server keeps the heap its last burst grew (a fresh
 * server's RSS was the same with and without it after 5 s of GETs and 20 s idle: 123 vs 124 MB).
 * @module
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--no-memory-reducer',
]
