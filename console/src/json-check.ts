/**
 * JSON syntax errors with a position people can find. V8's JSON.parse names the position for
 * some errors only ("… at position N (line L column C)") and not for others ("Unexpected token
 * '}', "…" is not valid JSON"), so when it fails a small scanner walks the text the way the
 * JSON grammar does and reports the line and column of the first character that cannot be there.
 */

export interface JsonProblem {
  message: string
  line?: number
  column?: number
}

export function lineColumn(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  return { line, column }
}

/** The offset and description of the first syntax error in `text` (undefined when none). */
export function firstSyntaxError(text: string): { pos: number; message: string } | undefined {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++
  }
  class Stop {
    readonly pos: number
    readonly message: string
    constructor(pos: number, message: string) {
      this.pos = pos
      this.message = message
    }
  }
  const fail = (what: string): never => {
    const ch = text[i]
    throw new Stop(
      i,
      ch === undefined
        ? `Unexpected end of text: ${what}`
        : `Unexpected ${JSON.stringify(ch)}: ${what}`,
    )
  }
  const str = () => {
    i++ // opening quote
    while (i < text.length) {
      const ch = text[i]
      if (ch === '"') {
        i++
        return
      }
      if (ch === '\\') {
        const e = text[i + 1]
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 2
            fail('expected four hex digits after \\u')
          }
          i += 6
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2
        else {
          i++
          fail('invalid escape')
        }
      } else if (ch !== undefined && ch < ' ') fail('control character in a string (escape it)')
      else i++
    }
    fail('unterminated string')
  }
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (m === null || m[0] === '' || m[0] === '-') fail('expected a value')
    i += m?.[0].length ?? 0
  }
  const value = (): void => {
    ws()
    const ch = text[i]
    if (ch === '{') {
      i++
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a double-quoted property name')
        str()
        ws()
        if (text[i] !== ':') fail("expected ':' after the property name")
        i++
        value()
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return
        }
        fail("expected ',' or '}'")
      }
    } else if (ch === '[') {
      i++
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      for (;;) {
        value()
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return
        }
        fail("expected ',' or ']'")
      }
    } else if (ch === '"') str()
    else if (text.startsWith('true', i)) i += 4
    else if (text.startsWith('false', i)) i += 5
    else if (text.startsWith('null', i)) i += 4
    else num()
  }
  try {
    value()
    ws()
    if (i < text.length) fail('expected the end of the document')
    return undefined
  } catch (e) {
    if (e instanceof Stop) return { pos: e.pos, message: e.message }
    throw e
  }
}

/** The parsed value, or the syntax problem with its line and column. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: JsonProblem } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const found = firstSyntaxError(text)
    if (found !== undefined)
      return { ok: false, problem: { message: found.message, ...lineColumn(text, found.pos) } }
    const p = /at position (\d+)/.exec(message)
    if (p) return { ok: false, problem: { message, ...lineColumn(text, Number(p[1])) } }
    return { ok: false, problem: { message } }
  }
}

export function describeProblem(p: JsonProblem): string {
  return p.line !== undefined ? `Line ${p.line}, column ${p.column ?? 1}: ${p.message}` : p.message
}
