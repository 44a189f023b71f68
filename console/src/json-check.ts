/**
 * JSON syntax errors with a position people can find: the line and column of JSON.parse's
 * failure (V8 says "at position N", newer V8 also "(line L column C)"; both are read).
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

/** The parsed value, or the syntax problem with its line and column. */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: JsonProblem } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const lc = /\(line (\d+) column (\d+)\)/.exec(message)
    if (lc) return { ok: false, problem: { message, line: Number(lc[1]), column: Number(lc[2]) } }
    const p = /at position (\d+)/.exec(message)
    if (p) return { ok: false, problem: { message, ...lineColumn(text, Number(p[1])) } }
    if (/end of JSON input/i.test(message))
      return { ok: false, problem: { message, ...lineColumn(text, text.length) } }
    return { ok: false, problem: { message } }
  }
}

export function describeProblem(p: JsonProblem): string {
  return p.line !== undefined ? `Line ${p.line}, column ${p.column ?? 1}: ${p.message}` : p.message
}
