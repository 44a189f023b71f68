/**
 * How the relational stores (SQLite, PostgreSQL) spell a BodyRef in their `body_ref` column: one
 * compact JSON shape, shared, because more than the store reads it: the blob ledger's triggers
 * and `isBlobReferenced` find blob refs by the `"r"` key in it, on both engines.
 * `{k:'i', b:<base64>}` inline (only inside parts), `{k:'b', r:<ref>, s:<size>}` a blob,
 * `{k:'p', p:[{r:<EncodedRef>, s:<size>}…]}` the parts of a multipart object.
 * @module
 */
import type { BodyRef } from '../../storage/metadata-store.js'

export type EncodedRef =
  | { k: 'i'; b: string }
  | { k: 'b'; r: string; s: number }
  | { k: 'p'; p: { r: EncodedRef; s: number }[] }

export function encodeRef(ref: BodyRef): EncodedRef {
  switch (ref.kind) {
    case 'inline':
      return { k: 'i', b: ref.bytes.toString('base64') }
    case 'blob':
      return { k: 'b', r: ref.ref, s: ref.size }
    case 'parts':
      return { k: 'p', p: ref.parts.map((p) => ({ r: encodeRef(p.ref), s: p.size })) }
  }
}

export function decodeRef(e: EncodedRef): BodyRef {
  switch (e.k) {
    case 'i':
      return { kind: 'inline', bytes: Buffer.from(e.b, 'base64') }
    case 'b':
      return { kind: 'blob', ref: e.r, size: e.s }
    case 'p':
      return { kind: 'parts', parts: e.p.map((p) => ({ ref: decodeRef(p.r), size: p.s })) }
  }
}
