import fc from 'fast-check'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  XmlSyntaxError,
  child,
  createXmlParser,
  decodeXmlEntities,
  el,
  list,
  parseXmlDocument,
  readXmlDocument,
  text,
  wrap,
  xmlEscape,
} from './xml.js'

describe('xmlEscape / el', () => {
  it('escapes the five specials and nothing else', () => {
    expect(xmlEscape(`<a href="x">&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;',
    )
    expect(el('K', undefined)).toBe('')
    expect(wrap('R', el('K', 'a&b'), ' x="1"')).toBe('<R x="1"><K>a&amp;b</K></R>')
  })

  it('whatever el writes, the parser reads back as the same text', () => {
    const parser = createXmlParser([])
    // XML cannot carry most C0 controls or lone surrogates; \r is normalised by any parser.
    const xmlText = fc.string({ unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f]/.test(s))
    fc.assert(
      fc.property(xmlText, (s) => {
        const root = parseXmlDocument(`<R>${el('K', s)}</R>`, parser)
        expect(text(child(root?.['R'], 'K'))).toBe(s)
      }),
    )
  })
})

describe('decodeXmlEntities', () => {
  it('a reference to a non-XML character is a typed XmlSyntaxError, not a surface error', () => {
    expect(() => decodeXmlEntities('&#0;')).toThrow(XmlSyntaxError)
    expect(decodeXmlEntities('&#34;&amp;#34;')).toBe('"&#34;')
  })
})

describe('parseXmlDocument', () => {
  const parser = createXmlParser(['Item'])
  it('malformed, empty or non-element input is undefined, never a throw', () => {
    for (const bad of ['', '  ', '<a>', '<a></b>', 'plain', '<a>&#0;</a>']) {
      expect(parseXmlDocument(bad, parser), bad).toBeUndefined()
    }
  })
  it('repeatable elements are arrays even with one member; namespaces are dropped', () => {
    const root = parseXmlDocument('<x:L xmlns:x="urn:a"><x:Item>1</x:Item></x:L>', parser)
    expect(list(child(root?.['L'], 'Item'))).toEqual(['1'])
    const two = parseXmlDocument('<L><Item>1</Item><Item> 2 </Item><One/></L>', parser)
    expect(list(child(two?.['L'], 'Item'))).toEqual(['1', ' 2 '])
    expect(text(child(two?.['L'], 'One'))).toBe('')
  })
})

describe('readXmlDocument', () => {
  const parser = createXmlParser([])
  it('too-large before malformed, and a typed result either way', async () => {
    const big = Readable.from([Buffer.from('<a>' + 'x'.repeat(20) + '</a>')])
    expect(await readXmlDocument(big, 10, parser)).toEqual({ ok: false, reason: 'too-large' })
    const bad = Readable.from([Buffer.from('<a>')])
    expect(await readXmlDocument(bad, 10, parser)).toEqual({ ok: false, reason: 'malformed' })
    const good = Readable.from([Buffer.from('<a>é</a>')])
    expect(await readXmlDocument(good, 10, parser)).toEqual({ ok: true, root: { a: 'é' } })
  })
})
