/**
 * The operator console in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * log in with the admin token, see a known tenant and the connection's pool, then watch a refused
 * request appear on the page's next refresh. Any script error or CSP violation on the page fails
 * the test. Without a browser the suite skips locally and FAILS under CI (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg, redisAvailable, requireService } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { startAdminFixture, type AdminFixture } from '../helpers/admin-fixture.js';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const hasBrowser = requireService(`Chromium (${CHROMIUM})`, existsSync(CHROMIUM));
const describeIfBrowser = hasBrowser ? describeIfPg : (describeIfPg.skip as typeof describeIfPg);

describeIfBrowser('operator console in headless Chromium', () => {
  let f: AdminFixture;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    f = await startAdminFixture();
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${new URL(r.url()).pathname}`);
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it('logs in, shows a known tenant and pool, and a refused request appears', async () => {
    // A statement first, so the pool has an open connection to show.
    expect((await post(f.url, await f.token('acme'), { sql: 'select id from notes', params: [], method: 'all' })).status).toBe(200);

    await page.goto(`${f.url}/admin`);
    // Before the token: the login form only, no data.
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.locator('#main').isVisible()).toBe(false);
    await page.locator('#token').fill('wrong-token-wrong-token-wrong-token');
    await page.locator('#login button[type=submit]').click();
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 15_000 }).toContain('refused');

    await page.locator('#token').fill(f.adminToken);
    await page.locator('#login button[type=submit]').click();
    const acme = page.locator('#tenants tr', { hasText: 'acme' });
    await acme.waitFor({ timeout: 20_000 });
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#board').isVisible()).toBe(false);
    expect(await acme.locator('td').allTextContents()).toEqual(['acme', 'route', 'main', 'gold', 'active']);
    const main = page.locator('#pools tr', { hasText: 'main' });
    await main.waitFor({ timeout: 20_000 });
    const cells = await main.locator('td').allTextContents();
    expect(cells[0]).toBe('main');
    expect(cells[1]).toBe('postgres');
    expect(cells[2]).toBe('2');
    expect(Number(cells[3])).toBeGreaterThanOrEqual(1);
    expect(cells[7]).toBe('closed');
    // The token lives in sessionStorage, never in a cookie.
    expect(await page.evaluate('sessionStorage.getItem("sluice-admin-token")')).toBe(f.adminToken);
    expect(await page.context().cookies()).toEqual([]);

    const refused = await post(f.url, await f.token('globex'), { sql: 'select body from secrets', params: [], method: 'all' });
    expect(refused.body.error.code).toBe('TABLE_NOT_ALLOWED');
    const row = page.locator('#refusals tr', { hasText: 'TABLE_NOT_ALLOWED' });
    // The page refreshes itself every 3 s.
    await row.waitFor({ timeout: 20_000 });
    const refusal = await row.locator('td').allTextContents();
    expect(refusal.slice(1)).toEqual(['TABLE_NOT_ALLOWED', '403', 'POST /data', 'member', 'globex', 'main', `${f.schema}.secrets`]);
    expect(await page.locator('#refusals').textContent()).not.toContain('select');

    // The wrong-token 401 of the first attempt is the only error allowed (no CSP violation, no 404).
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    expect(problems).toContain('HTTP 401 /admin/api/state');
  }, 90_000);
});

const redisUp = requireService('Redis', await redisAvailable());
const describeIfBoard = hasBrowser && redisUp ? describeIfPg : (describeIfPg.skip as typeof describeIfPg);

describeIfBoard('the BullMQ board in headless Chromium (queue mode)', () => {
  let f: AdminFixture;
  let browser: Browser;

  beforeAll(async () => {
    f = await startAdminFixture({ queue: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it('opens from the console with a board pass and lists the queues', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${f.url}/admin`);
    await page.locator('#token').fill(f.adminToken);
    await page.locator('#login button[type=submit]').click();
    const button = page.locator('#board');
    await expect.poll(() => button.isVisible(), { timeout: 20_000 }).toBe(true);
    const [board] = await Promise.all([context.waitForEvent('page', { timeout: 20_000 }), button.click()]);
    await board.waitForLoadState();
    expect(new URL(board.url()).pathname).toBe('/admin/queues/');
    await board.getByText('data-main').first().waitFor({ timeout: 30_000 });
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.path, c.httpOnly, c.sameSite])).toEqual([['sluice_board', '/admin/queues', true, 'Strict']]);
    await context.close();
  }, 90_000);
});
