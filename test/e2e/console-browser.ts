/**
 * Browser side of the console e2e tests: Debian's Chromium driven by playwright-core (headless,
 * a fresh profile per launch), a page that fails the test on any CSP violation or uncaught page
 * error, sign-in through the real form, axe-core checks (injected into a bypassCSP context:
 * the console's own pages never allow a foreign script), and screenshots of the main pages: into
 * .tmp/screenshots/ on every run, or into docs/screenshots/ (the README's) with
 * LATCHKEY_SCREENSHOTS=docs, so a test run leaves the checkout clean.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { ROOT, type TestServer } from './harness.js'

export const SCREENSHOTS =
  process.env['LATCHKEY_SCREENSHOTS'] === 'docs'
    ? join(ROOT, 'docs', 'screenshots')
    : join(ROOT, '.tmp', 'screenshots')
const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

const CHROMIUM = process.env['LATCHKEY_CHROMIUM'] ?? '/usr/bin/chromium'
/** The browser suites skip themselves where Debian's Chromium is missing (as .ci/run says). */
export const HAS_CHROMIUM = existsSync(CHROMIUM)

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

export interface ConsolePage {
  page: Page
  context: BrowserContext
  /** CSP violations and page errors seen so far (a test expects none). */
  problems: string[]
}

/** A fresh context (own cookies and storage) and page on the console. */
export async function openConsole(
  browser: Browser,
  server: TestServer,
  opts: { bypassCSP?: boolean } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({
    baseURL: server.endpoint,
    viewport: { width: 1280, height: 860 },
    bypassCSP: opts.bypassCSP ?? false,
    acceptDownloads: true,
  })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: server.endpoint,
  })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text())
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  return { page, context, problems }
}

export async function signIn(
  page: Page,
  username: string,
  password: string,
  customer?: string,
): Promise<void> {
  await page.goto('/console/')
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  if (customer !== undefined) await page.getByLabel('Customer').fill(customer)
  await page.getByRole('button', { name: 'Sign in' }).click()
  try {
    await page.getByRole('button', { name: 'Sign out' }).first().waitFor()
  } catch (e) {
    const alerts = await page.getByRole('alert').allTextContents()
    throw new Error(`sign-in as ${username} failed: ${alerts.join(' | ') || String(e)}`)
  }
}

/** Click a main-menu entry. */
export async function nav(page: Page, label: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: label, exact: true })
    .click()
}

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[] }[]
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  const has = await page.evaluate('typeof globalThis.axe !== "undefined"')
  if (has !== true) await page.addScriptTag({ content: AXE })
  const violations = (await page.evaluate(
    'globalThis.axe.run(document, { resultTypes: ["violations"] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({ target: n.target })) })))',
  )) as AxeViolation[]
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.evaluate('window.scrollTo(0, 0)')
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false })
}

/** Everything the page's JS could have persisted: Web Storage and JS-visible cookies. */
export async function persistedByJs(page: Page): Promise<string> {
  return (await page.evaluate(
    'JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })',
  )) as string
}

/** IndexedDB database names the origin holds (the console creates none). */
export async function indexedDbNames(page: Page): Promise<string[]> {
  return (await page.evaluate(
    'indexedDB.databases ? indexedDB.databases().then(d => d.map(x => x.name)) : []',
  )) as string[]
}
