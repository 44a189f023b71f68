/**
 * Regression: request XML with numeric character references (rclone/minio-go write ETag quotes
 * as `&#34;` in CompleteMultipartUpload) must decode, in one pass, like any XML parser does.
 */
import { describe, expect, it } from 'vitest'
import { child, decodeXmlEntities, list, parseXml, text } from './xml.js'

describe('XML entity decoding', () => {
  it('decodes numeric and the five named references, once', () => {
    expect(decodeXmlEntities('&#34;ab&#x22;&quot;&amp;&lt;&gt;&apos;')).toBe('"ab""&<>\'')
    expect(decodeXmlEntities('&amp;#34;')).toBe('&#34;')
    expect(decodeXmlEntities('&#x1F600;')).toBe('\u{1F600}')
    expect(decodeXmlEntities('&nbsp;&constructor;')).toBe('&nbsp;&constructor;')
    expect(decodeXmlEntities('plain')).toBe('plain')
  })
  it('a reference to a non-XML character is MalformedXML', () => {
    for (const bad of ['&#0;', '&#x1;', '&#xD800;', '&#x110000;', '&#99999999;']) {
      expect(() => decodeXmlEntities(bad), bad).toThrow(
        expect.objectContaining({ code: 'MalformedXML' }),
      )
    }
  })
  it('parses a CompleteMultipartUpload body as Go clients write it', () => {
    const xml =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber>' +
      '<ETag>&#34;1b4928037243c53d7300936fe01ad27f&#34;</ETag></Part></CompleteMultipartUpload>'
    const parts = list(child(parseXml(xml)['CompleteMultipartUpload'], 'Part'))
    expect(text(child(parts[0], 'ETag'))).toBe('"1b4928037243c53d7300936fe01ad27f"')
    expect(() => parseXml('<a>&#0;</a>')).toThrow(expect.objectContaining({ code: 'MalformedXML' }))
  })
})
