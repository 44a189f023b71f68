/**
 * XML on the wire, for every surface (S3, STS, admin): escaping, a tiny string-building writer
 * (no DOM) and a bounded parser factory that turns any malformed input into one typed failure
 * instead of a crash. It speaks no surface's error language: a malformed document is
 * `undefined` from `parseXmlDocument` (or an `XmlSyntaxError` from `decodeXmlEntities`), and
 * each surface maps that to its own code (S3's MalformedXML).
 * @module
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import type { Readable } from 'node:stream'
import { readBounded } from './read-bounded.js'

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

// eslint-disable-next-line no-control-regex
const XML_SPECIAL = /[<>&"'\u0000-\u0008\u000B-\u001F]/

/**
 * Escape the five XML specials, for text and attribute values alike, and the control characters
 * a parser would not give back: `\r` as `&#13;` (a raw one is read as `\n`, so an S3 key `a\rb`
 * would list as `a\nb`) and the other C0 controls as character references, as S3 and RGW emit
 * them (the SDKs read them back; `\t` and `\n` stay as they are, XML keeps them).
 */
export function xmlEscape(s: string): string {
  // Most values (ids, ARNs, tokens, dates) hold none of these: one scan, and no replace call.
  if (!XML_SPECIAL.test(s)) return s
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>&"'\u0000-\u0008\u000B-\u001F]/g, (c) =>
    c === '<'
      ? '&lt;'
      : c === '>'
        ? '&gt;'
        : c === '&'
          ? '&amp;'
          : c === '"'
            ? '&quot;'
            : c === "'"
              ? '&apos;'
              : `&#${c.charCodeAt(0)};`,
  )
}

/** `<name>escaped text</name>`; undefined values render nothing. */
export function el(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return ''
  return `<${name}>${xmlEscape(String(value))}</${name}>`
}

/** `<name>children</name>` where children is already-rendered XML. */
export function wrap(name: string, children: string, attrs = ''): string {
  return `<${name}${attrs}>${children}</${name}>`
}

/** A document that is not well-formed XML (or names a character XML cannot hold). */
export class XmlSyntaxError extends Error {
  constructor() {
    super('malformed XML')
    this.name = 'XmlSyntaxError'
  }
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
 * default decoder leaves numeric references undecoded. A reference to a non-XML character
 * throws XmlSyntaxError; other names (and DOCTYPE entities, never expanded) stay as written.
 */
export function decodeXmlEntities(s: string): string {
  if (!s.includes('&')) return s
  return s.replace(/&(#x[0-9a-fA-F]{1,8}|#[0-9]{1,8}|[A-Za-z]{2,8});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10)
      if (!isXmlChar(cp)) throw new XmlSyntaxError()
      return String.fromCodePoint(cp)
    }
    return Object.hasOwn(NAMED_ENTITIES, ref) ? (NAMED_ENTITIES[ref] ?? whole) : whole
  })
}

export type XmlNode = { readonly [k: string]: XmlValue }
export type XmlValue = string | XmlNode | readonly XmlValue[]

/** A configured parser; build one per document family (its repeatable element names). */
export type XmlDocumentParser = XMLParser

/**
 * A parser that ignores attributes and namespace prefixes, keeps text as written (no number
 * parsing, no trimming), decodes entities with decodeXmlEntities and never expands DOCTYPE
 * entities. Elements named in `repeatable` are always arrays, so handlers need not special-case
 * one item.
 */
export function createXmlParser(repeatable: readonly string[]): XmlDocumentParser {
  return new XMLParser({
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
    isArray: (name) => repeatable.includes(name),
  })
}

/** Parse a whole document; `undefined` when it is empty, not well-formed or not an element tree. */
export function parseXmlDocument(text: string, parser: XmlDocumentParser): XmlNode | undefined {
  if (text.trim() === '') return undefined
  if (XMLValidator.validate(text) !== true) return undefined
  try {
    const out: unknown = parser.parse(text)
    if (out === null || typeof out !== 'object') return undefined
    return out as XmlNode
  } catch {
    return undefined
  }
}

export type XmlBody =
  | { readonly ok: true; readonly root: XmlNode }
  | { readonly ok: false; readonly reason: 'too-large' | 'malformed' }

/** Read a request body of at most `maxBytes` (read-bounded.ts) and parse it as UTF-8 XML. */
export async function readXmlDocument(
  body: Readable,
  maxBytes: number,
  parser: XmlDocumentParser,
): Promise<XmlBody> {
  const read = await readBounded(body, maxBytes)
  if (!read.ok) return read
  const root = parseXmlDocument(read.bytes.toString('utf8'), parser)
  return root === undefined ? { ok: false, reason: 'malformed' } : { ok: true, root }
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
