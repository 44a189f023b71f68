/**
 * Several real Latchkey nodes on one PostgreSQL database and one shared blob directory, for the
 * multi-node e2e suites. Each node is its own process with its own data dir (so nothing is shared
 * by accident), started one after the other (the first runs the migrations and seeds root).
 * `tcpProxy` puts a cuttable TCP hop between one node and PostgreSQL: a network partition of one
 * node, which stopping the database (every node at once) cannot show.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startServer, type TestServer } from '../e2e/harness.js'

export interface ClusterNodeOptions {
  /** The database URL this node uses (default: the cluster's). */
  readonly databaseUrl?: string
  readonly env?: Readonly<Record<string, string>>
  readonly args?: readonly string[]
}

export interface TestCluster {
  readonly databaseUrl: string
  readonly blobDir: string
  readonly masterKey: string
  readonly nodes: TestServer[]
  /** Start one more node (or a replacement for a killed one) with the cluster's settings. */
  startNode(o?: ClusterNodeOptions): Promise<TestServer>
  stop(): Promise<void>
}

export async function startCluster(
  databaseUrl: string,
  count: number,
  common: { readonly env?: Readonly<Record<string, string>> } = {},
  perNode: (i: number) => ClusterNodeOptions = () => ({}),
): Promise<TestCluster> {
  const blobDir = mkdtempSync(join(tmpdir(), 'latchkey-cluster-blobs-'))
  const masterKey = randomBytes(32).toString('base64')
  const nodes: TestServer[] = []
  const startNode = (o: ClusterNodeOptions = {}): Promise<TestServer> =>
    startServer({
      args: [
        '--database',
        o.databaseUrl ?? databaseUrl,
        '--blob-store',
        `file:${blobDir}`,
        ...(o.args ?? []),
      ],
      env: { LATCHKEY_MASTER_KEY: masterKey, ...common.env, ...o.env },
    })
  for (let i = 0; i < count; i++) nodes.push(await startNode(perNode(i)))
  return {
    databaseUrl,
    blobDir,
    masterKey,
    nodes,
    startNode,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()))
      rmSync(blobDir, { recursive: true, force: true })
    },
  }
}

export interface TcpProxy {
  readonly port: number
  /** Drop every connection and refuse new ones (a partition). */
  cut(): void
  heal(): void
  close(): Promise<void>
}

/** A loopback TCP proxy to `targetPort` that the test can cut and heal. */
export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let down = false
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    open.add(client)
    open.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const a = server.address()
  const port = typeof a === 'object' && a !== null ? a.port : 0
  return {
    port,
    cut() {
      down = true
      for (const s of open) s.destroy()
      open.clear()
    },
    heal() {
      down = false
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** `url` with its port replaced (to route one node through a proxy). */
export function withPort(url: string, port: number): string {
  const u = new URL(url)
  u.port = String(port)
  return u.toString()
}
