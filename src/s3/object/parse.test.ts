import { describe, expect, it } from 'vitest'
import { parseCopySource } from './copy-source.js'
import {
  describeObject,
  parseObjectHeaders,
  parseUserMetadata,
  rejectUnsupportedHeaders,
} from './headers.js'
import { parseTaggingHeader, parseTaggingXml, renderTagging, validateTags } from './tags.js'
import { parseXml } from '../xml.js'
import { multipartEtag, parseCompleteDocument, requirePartNumber } from './multipart.js'
import { createHash } from 'node:crypto'

const code = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return (e as { code: string }).code
  }
  return 'none'
}

describe('copy source', () => {
  it('parses bucket/key, leading slash, encoding and versionId=null', () => {
    expect(parseCopySource('bkt/a%20b/c')).toEqual({ bucket: 'bkt', key: 'a b/c' })
    expect(parseCopySource('/bkt/k?versionId=null')).toEqual({ bucket: 'bkt', key: 'k' })
  })
  it('rejects malformed sources and other versions', () => {
    for (const v of [undefined, '', 'bkt', 'bkt/', '/', 'bkt/k?versionId=abc', '%E0%A4%A']) {
      expect(code(() => parseCopySource(v))).toBe('InvalidArgument')
    }
  })
  it("applies the path's key rule to the source key ('..' segments, 1024 bytes)", () => {
    for (const v of [
      'bkt/a/../b',
      '/bkt/../private/k',
      'bkt/a/%2E%2E/b',
      'bkt/a%2F..%2Fb',
      'bkt/..',
    ]) {
      expect(
        code(() => parseCopySource(v)),
        v,
      ).toBe('InvalidArgument')
    }
    expect(code(() => parseCopySource(`bkt/${'k'.repeat(1025)}`))).toBe('KeyTooLongError')
    expect(parseCopySource('bkt/a..b/...').key).toBe('a..b/...')
  })
})

describe('object headers', () => {
  it('strips aws-chunked from Content-Encoding', () => {
    const h: Record<string, string> = {
      'content-encoding': 'aws-chunked,gzip',
      'content-type': 'text/plain',
    }
    expect(parseObjectHeaders((n) => h[n])).toEqual({
      contentEncoding: 'gzip',
      contentType: 'text/plain',
    })
    const only: Record<string, string> = { 'content-encoding': 'aws-chunked' }
    expect(parseObjectHeaders((n) => only[n])).toEqual({})
  })
  it('collects x-amz-meta-* and enforces 2 KB', () => {
    expect(parseUserMetadata({ 'x-amz-meta-Color': 'red', other: 'x' })).toEqual({ color: 'red' })
    expect(code(() => parseUserMetadata({ 'x-amz-meta-a': 'x'.repeat(2047) }))).toBe('none')
    expect(code(() => parseUserMetadata({ 'x-amz-meta-a': 'x'.repeat(2048) }))).toBe(
      'MetadataTooLarge',
    )
  })
  it('refuses SSE / object lock, bad ACL and storage class; reads ACLs', () => {
    expect(code(() => rejectUnsupportedHeaders({ 'x-amz-server-side-encryption': 'AES256' }))).toBe(
      'NotImplemented',
    )
    expect(code(() => rejectUnsupportedHeaders({ 'x-amz-object-lock-mode': 'GOVERNANCE' }))).toBe(
      'NotImplemented',
    )
    const h = (x: Record<string, string>) => () => describeObject((n) => x[n], x)
    expect(code(h({ 'x-amz-acl': 'private' }))).toBe('none')
    expect(code(h({ 'x-amz-acl': 'bucket-owner-full-control' }))).toBe('none')
    expect(code(h({ 'x-amz-acl': 'public-read' }))).toBe('none')
    expect(describeObject((n) => ({ 'x-amz-acl': 'public-read' })[n], {}).acl).toEqual({
      kind: 'canned',
      name: 'public-read',
    })
    expect(code(() => rejectUnsupportedHeaders({ 'x-amz-grant-read': 'id=x' }))).toBe('none')
    expect(code(h({ 'x-amz-grant-read': 'bogus' }))).toBe('InvalidArgument')
    expect(code(h({ 'x-amz-acl': 'private', 'x-amz-grant-read': 'id="x"' }))).toBe('InvalidRequest')
    expect(code(h({ 'x-amz-acl': 'everyone' }))).toBe('InvalidArgument')
    expect(code(h({ 'x-amz-storage-class': 'STANDARD' }))).toBe('none')
    expect(code(h({ 'x-amz-storage-class': 'GLACIERX' }))).toBe('InvalidStorageClass')
  })
})

describe('tags', () => {
  it('parses x-amz-tagging', () => {
    expect(parseTaggingHeader('a=1&b=two%20words&c=')).toEqual({ a: '1', b: 'two words', c: '' })
    expect(parseTaggingHeader(undefined)).toBeUndefined()
  })
  it('validates count, lengths, duplicates, prefix and characters', () => {
    const many = Array.from({ length: 11 }, (_, i): [string, string] => [`k${i}`, 'v'])
    expect(code(() => validateTags(many))).toBe('InvalidTag')
    expect(code(() => validateTags(many.slice(0, 10)))).toBe('none')
    expect(code(() => validateTags([['k'.repeat(129), 'v']]))).toBe('InvalidTag')
    expect(code(() => validateTags([['k'.repeat(128), 'v'.repeat(256)]]))).toBe('none')
    expect(code(() => validateTags([['k', 'v'.repeat(257)]]))).toBe('InvalidTag')
    expect(code(() => validateTags([['', 'v']]))).toBe('InvalidTag')
    expect(code(() => validateTags([['aws:x', 'v']]))).toBe('InvalidTag')
    expect(code(() => validateTags([['k<', 'v']]))).toBe('InvalidTag')
    expect(code(() => parseTaggingHeader('a=1&a=2'))).toBe('InvalidTag')
  })
  it('round-trips the XML form', () => {
    const xml = renderTagging({ 'a b': 'x+y/z=@', c: '' })
    expect(parseTaggingXml(parseXml(xml))).toEqual({ 'a b': 'x+y/z=@', c: '' })
    expect(code(() => parseTaggingXml(parseXml('<Other/>')))).toBe('MalformedXML')
  })
})

describe('multipart helpers', () => {
  it('computes the composite ETag by hand', () => {
    const p1 = createHash('md5').update('part one').digest('hex')
    const p2 = createHash('md5').update('part two').digest('hex')
    const want =
      createHash('md5')
        .update(
          Buffer.concat([
            createHash('md5').update('part one').digest(),
            createHash('md5').update('part two').digest(),
          ]),
        )
        .digest('hex') + '-2'
    expect(multipartEtag([p1, p2])).toBe(want)
  })
  it('validates part numbers', () => {
    expect(requirePartNumber('1', 10000)).toBe(1)
    expect(requirePartNumber('10000', 10000)).toBe(10000)
    for (const v of [undefined, '0', '10001', 'x', '-1', '1.5'])
      expect(code(() => requirePartNumber(v, 10000))).toBe('InvalidArgument')
  })
  it('parses the complete document', () => {
    const parts = parseCompleteDocument(
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"aa"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>3</PartNumber><ETag>bb</ETag></Part></CompleteMultipartUpload>',
    )
    expect(parts).toEqual([
      { partNumber: 1, etag: 'aa', checksums: { CRC32: 'AAAAAA==' } },
      { partNumber: 3, etag: 'bb', checksums: {} },
    ])
    expect(
      code(() => parseCompleteDocument('<CompleteMultipartUpload></CompleteMultipartUpload>')),
    ).toBe('MalformedXML')
    expect(
      code(() =>
        parseCompleteDocument(
          '<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>',
        ),
      ),
    ).toBe('MalformedXML')
    expect(code(() => parseCompleteDocument('not xml'))).toBe('MalformedXML')
    const order =
      '<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>'
    expect(code(() => parseCompleteDocument(order))).toBe('InvalidPartOrder')
  })
})
