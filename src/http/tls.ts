/**
 * TLS material: operator-provided files, or a self-signed certificate for localhost/127.0.0.1
 * generated once into the data dir (key file mode 0600) and reused on every later start.
 * @module
 */
import { readFile, writeFile, rename } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { generate } from 'selfsigned'

export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
}

export async function loadTls(
  tls: { readonly certFile: string; readonly keyFile: string } | { readonly selfSigned: true },
  dataDir: string,
): Promise<TlsMaterial> {
  if ('certFile' in tls) {
    const [cert, key] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile)])
    return { cert, key }
  }
  const certPath = join(dataDir, 'tls-cert.pem')
  const keyPath = join(dataDir, 'tls-key.pem')
  if (existsSync(certPath) && existsSync(keyPath)) {
    const [cert, key] = await Promise.all([readFile(certPath), readFile(keyPath)])
    return { cert, key }
  }
  const now = new Date()
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
  // Write atomically so a crash never leaves a half-written key that later starts reuse.
  await writeFile(keyPath + '.tmp', pems.private, { mode: 0o600 })
  await writeFile(certPath + '.tmp', pems.cert, { mode: 0o644 })
  await rename(keyPath + '.tmp', keyPath)
  await rename(certPath + '.tmp', certPath)
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private) }
}
