/**
 * XML for the S3 surface: a tiny escaping writer for responses (no DOM, string building only) and
 * a bounded parser for request bodies (CompleteMultipartUpload, Delete, CORSConfiguration,
 * Tagging, CreateBucketConfiguration, AccessControlPolicy) that turns any malformed input into
 * MalformedXML instead of a crash.
 * @module
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { Readable } from 'node:stream'
import { readBounded } from '../http/read-bounded.js'
import { S3Error, xmlEscape } from './errors.js'

export { xmlEscape }

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

/** `<name>escaped text</name>`; undefined values render nothing. */
export function el(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  return `<${name}>${xmlEscape(String(value))}</${name}>`
}

/** `<name>children</name>` where children is already-rendered XML. */
export function wrap(name: string, children: string, attrs = ''): string {
  return `<${name}${attrs}>${children}</${name}>`
}

/** A whole document with the S3 namespace on the root element. */
export function doc(root: string, children: string): string {
  return `${XML_DECL}<${root} xmlns="${S3_NS}">${children}</${root}>`
}

/** ISO-8601 with milliseconds, as S3 prints LastModified. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString()
}

let lastHttpDateMs = Number.NaN
let lastHttpDate = ''

/** RFC 7231 date for Last-Modified headers (one-entry memo: hot objects repeat their date). */
export function httpDate(ms: number): string {
  if (ms !== lastHttpDateMs) {
    lastHttpDate = new Date(ms).toUTCString()
    lastHttpDateMs = ms
  }
  return lastHttpDate
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
}

/** XML 1.0's Char production: what a character reference may name. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  )
}

/**
 * Decodes XML's five named entities and numeric character references (`&#34;`, `&#x22;`) in
 * one pass, so `&amp;#34;` stays the literal text `&#34;`. Go clients (rclone, minio-go via
 * encoding/xml) write the quotes of a CompleteMultipartUpload ETag as `&#34;`; fast-xml-parser's
 * default decoder leaves numeric references undecoded. A reference to a non-XML character is
 * MalformedXML; other names (and DOCTYPE entities, never expanded) stay as written.
 */
export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s
  return s.replace(/&(#x[0-9a-fA-F]{1,8}|#[0-9]{1,8}|[A-Za-z]{2,8});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      if (!isXmlChar(cp)) throw new S3Error('MalformedXML')
      return String.fromCodePoint(cp)
    }
    return Object.hasOwn(NAMED_ENTITIES, ref) ? (NAMED_ENTITIES[ref] ?? whole) : whole
  })
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  entityDecoder: {
    decode: decodeXmlEntities,
    setExternalEntities: () => undefined,
    addInputEntities: () => undefined,
    reset: () => undefined,
    setXmlVersion: () => undefined,
  },
  ignoreDeclaration: true,
  // Elements that may repeat are always arrays, so handlers need not special-case one item.
  isArray: (name) =>
    [
      'Part',
      'Object',
      'CORSRule',
      'AllowedOrigin',
      'AllowedMethod',
      'AllowedHeader',
      'ExposeHeader',
      'Tag',
      'Grant',
    ].includes(name),
})

export type XmlNode = { readonly [k: string]: XmlValue }
export type XmlValue = string | XmlNode | readonly XmlValue[]

/** Read a request body of at most `maxBytes` and parse it; malformed or oversize → S3Error. */
export async function readXmlBody(body: Readable, maxBytes: number): Promise<XmlNode> {
  const text = await readBoundedText(body, maxBytes)
  return parseXml(text)
}

export function parseXml(text: string): XmlNode {
  if (text.trim() === '') throw new S3Error('MalformedXML')
  if (XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML')
  try {
    const out: unknown = parser.parse(text)
    if (out === null || typeof out !== 'object') throw new S3Error('MalformedXML')
    return out as XmlNode
  } catch (e) {
    if (e instanceof S3Error) throw e
    throw new S3Error('MalformedXML')
  }
}

/** Read a whole small body as UTF-8, refusing more than maxBytes (MaxMessageLengthExceeded). */
export async function readBoundedText(body: Readable, maxBytes: number): Promise<string> {
  const read = await readBounded(body, maxBytes)
  if (!read.ok) throw new S3Error('MaxMessageLengthExceeded')
  return read.bytes.toString('utf8')
}

/** Helpers to walk parsed XML safely. */
export function child(node: XmlValue | undefined, name: string): XmlValue | undefined {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined
  return (node as XmlNode)[name]
}

export function text(node: XmlValue | undefined): string | undefined {
  if (node === undefined) return undefined
  if (typeof node === 'string') return node
  if (Array.isArray(node)) return undefined
  // <Tag></Tag> parses as '' ; an element with only attributes parses as {}
  return Object.keys(node).length === 0 ? '' : undefined
}

export function list(node: XmlValue | undefined): readonly XmlValue[] {
  if (node === undefined) return []
  return Array.isArray(node) ? (node as readonly XmlValue[]) : [node]
}
