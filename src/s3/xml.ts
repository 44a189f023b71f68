/**
 * XML for the S3 surface, over the generic writer and parser of http/xml.ts: the S3 namespace
 * and document root, S3's date formats, and the parser for S3's request bodies
 * (CompleteMultipartUpload, Delete, CORSConfiguration, Tagging, CreateBucketConfiguration,
 * AccessControlPolicy) with every malformed input mapped to MalformedXML.
 * @module
 */
import type { Readable } from 'node:stream'
import { readBounded } from '../http/read-bounded.js'
import {
  XML_DECL,
  XmlSyntaxError,
  child,
  createXmlParser,
  decodeXmlEntities as decodeEntities,
  el,
  list,
  parseXmlDocument,
  readXmlDocument,
  text,
  wrap,
  xmlEscape,
  type XmlNode,
  type XmlValue,
} from '../http/xml.js'
import { isoMillis } from '../lib/time-format.js'
import { S3Error } from './errors.js'

export { XML_DECL, child, el, list, text, wrap, xmlEscape }

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

/** A whole document with the S3 namespace on the root element. */
export function doc(root: string, children: string): string {
  return `${XML_DECL}<${root} xmlns="${S3_NS}">${children}</${root}>`
}

/** ISO-8601 with milliseconds, as S3 prints LastModified. */
export const isoDate = isoMillis

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

/**
 * decodeXmlEntities (http/xml.ts) with S3's answer: a reference to a non-XML character is
 * MalformedXML.
 */
export function decodeXmlEntities(s: string): string {
  try {
    return decodeEntities(s)
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new S3Error('MalformedXML')
    throw e
  }
}

// Elements that may repeat in S3's request documents are always arrays.
const parser = createXmlParser([
  'Part',
  'Object',
  'CORSRule',
  'AllowedOrigin',
  'AllowedMethod',
  'AllowedHeader',
  'ExposeHeader',
  'Tag',
  'Grant',
])

export type { XmlNode, XmlValue }

/** Read a request body of at most `maxBytes` and parse it; malformed or oversize → S3Error. */
export async function readXmlBody(body: Readable, maxBytes: number): Promise<XmlNode> {
  const read = await readXmlDocument(body, maxBytes, parser)
  if (read.ok) return read.root
  throw new S3Error(read.reason === 'too-large' ? 'MaxMessageLengthExceeded' : 'MalformedXML')
}

export function parseXml(text: string): XmlNode {
  const root = parseXmlDocument(text, parser)
  if (root === undefined) throw new S3Error('MalformedXML')
  return root
}

/** Read a whole small body as UTF-8, refusing more than maxBytes (MaxMessageLengthExceeded). */
export async function readBoundedText(body: Readable, maxBytes: number): Promise<string> {
  const read = await readBounded(body, maxBytes)
  if (!read.ok) throw new S3Error('MaxMessageLengthExceeded')
  return read.bytes.toString('utf8')
}
