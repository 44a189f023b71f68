/**
 * The console's sign-in form in a real browser: keyboard only (Tab and Enter, focus visible),
 * a user with TOTP gets the one-time code field when the server answers OtpRequired and signs
 * in with a code, a customer's user signs in with "Customer", an expired or revoked session
 * returns to Sign in, and a lockout (429 after ten failures) is shown plainly. Its own server:
 * the lockout locks the address for fifteen minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSync } from 'otplib'
import type { Browser } from 'playwright-core'
import { startServer, type TestServer } from './harness.js'
import { adminLogin, userWithKey, type AdminClient } from './admin-client.js'
import { launch, openConsole, screenshot, signIn, HAS_CHROMIUM } from './console-browser.js'

describe.skipIf(!HAS_CHROMIUM)('web console: sign in', () => {
  let server: TestServer
  let browser: Browser
  let admin: AdminClient

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startServer(), launch()])
    admin = await adminLogin(server)
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('works with the keyboard alone, focus visible, focus moved to each new page', async () => {
    const c = await openConsole(browser, server)
    const p = c.page
    await p.goto('/console/')
    await p.getByLabel('Username').waitFor()
    // The username field has focus on load; Tab moves through the form in order.
    expect(await p.evaluate('document.activeElement?.id')).toBe(
      await p.getByLabel('Username').getAttribute('id'),
    )
    await p.keyboard.type('root')
    await p.keyboard.press('Tab')
    await p.keyboard.type(server.rootPassword)
    await p.keyboard.press('Tab')
    const outline = (await p.evaluate(
      'getComputedStyle(document.activeElement).outlineStyle',
    )) as string
    expect(outline).not.toBe('none')
    await p.keyboard.press('Tab')
    expect(await p.evaluate('document.activeElement?.textContent')).toBe('Sign in')
    await p.keyboard.press('Enter')
    await p.getByRole('button', { name: 'Sign out' }).waitFor()
    // Focus lands on the page's heading; Tab reaches its links, Enter follows them.
    expect(
      await p.evaluate(
        'document.activeElement?.tagName + " " + document.activeElement?.textContent',
      ),
    ).toBe('H1 Buckets')
    await p.keyboard.press('Tab')
    expect(await p.evaluate('document.activeElement?.textContent')).toBe('Access keys')
    await p.keyboard.press('Enter')
    await p.getByRole('heading', { level: 1, name: 'Access keys' }).waitFor()
    expect(c.problems).toEqual([])
    await c.context.close()
  })

  it('a user with TOTP is asked for the one-time code and signs in with it', async () => {
    const u = await userWithKey(admin, 'totpuser', 'Writer')
    const t = await admin.call('POST', `/api/admin/users/${u.id}/totp`)
    expect(t.status).toBe(200)
    const c = await openConsole(browser, server)
    const p = c.page
    await p.goto('/console/')
    await p.getByLabel('Username').fill('totpuser')
    await p.getByLabel('Password', { exact: true }).fill('totpuser-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByLabel('One-time code').waitFor()
    expect(await p.getByRole('alert').textContent()).toMatch(/one-time code/i)
    await screenshot(p, 'sign-in-otp')
    await p.getByLabel('One-time code').fill(generateSync({ secret: t.json.secret }))
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByRole('button', { name: 'Sign out' }).first().waitFor()
    await c.context.close()
  })

  it('a SuperUser with TOTP reveals the master key with password and code', async () => {
    const u = await userWithKey(admin, 'guard', 'SuperUser')
    const t = await admin.call('POST', `/api/admin/users/${u.id}/totp`)
    const secret = t.json.secret as string
    const c = await openConsole(browser, server)
    const p = c.page
    await p.goto('/console/')
    await p.getByLabel('Username').fill('guard')
    await p.getByLabel('Password', { exact: true }).fill('guard-password-1')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByLabel('One-time code').fill(generateSync({ secret }))
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByRole('button', { name: 'Sign out' }).first().waitFor()
    await p
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Master key' })
      .click()
    await p.getByLabel('Your password').fill('guard-password-1')
    // Each code's time step is accepted once: use the next step's (±1 step is allowed).
    const next = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 })
    await p.getByLabel('One-time code').fill(next)
    await p.getByRole('button', { name: 'Reveal secret' }).click()
    const shown = await p.getByLabel('API Secret', { exact: true }).inputValue()
    expect(shown.length).toBeGreaterThanOrEqual(30)
    expect(c.problems).toEqual([])
    await c.context.close()
  })

  it("a customer's user signs in with Customer; its session revoked → back to Sign in", async () => {
    expect(
      (await admin.call('POST', '/api/admin/customers', { name: 'shop', type: 'customer' })).status,
    ).toBe(201)
    await userWithKey(admin, 'clerk', 'SuperUser', 'shop')
    const c = await openConsole(browser, server)
    const p = c.page
    await signIn(p, 'clerk', 'clerk-password-1', 'shop')
    expect(await p.getByRole('banner').textContent()).toContain('clerk @ shop')
    // Revoke the console session server-side (as root): the page's next call returns to Sign in.
    const sessions = await admin.call('GET', '/api/admin/sessions?customer=shop')
    const mine = (sessions.json as { access_key: string; source?: string }[]).filter(
      (s) => s.source === 'console',
    )
    expect(mine).toHaveLength(1)
    expect((await admin.call('DELETE', `/api/admin/sessions/${mine[0]!.access_key}`)).status).toBe(
      204,
    )
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click()
    await p.getByText('Your session ended. Please sign in again.').waitFor()
    await p.getByRole('button', { name: 'Sign in' }).waitFor()
    await c.context.close()
  })

  it('a lockout after repeated failures is shown plainly', async () => {
    await userWithKey(admin, 'victim', 'Reader')
    const c = await openConsole(browser, server)
    const p = c.page
    await p.goto('/console/')
    await p.getByLabel('Username').fill('victim')
    let text = ''
    for (let i = 0; i < 12 && !/too many/i.test(text); i++) {
      await p.getByLabel('Password', { exact: true }).fill(`wrong-password-${i}`)
      await p.getByRole('button', { name: 'Sign in' }).click()
      await p.getByRole('button', { name: 'Sign in' }).and(p.locator(':enabled')).waitFor()
      text = (await p.getByRole('alert').textContent()) ?? ''
    }
    expect(text).toMatch(
      /^Too many failed sign-ins\. Try again in (\d+ seconds|about \d+ minutes)\.$/,
    )
    await screenshot(p, 'sign-in-lockout')
    expect(await p.getByRole('button', { name: 'Sign out' }).count()).toBe(0)
    expect(c.problems).toEqual([])
    await c.context.close()
  })
})
