// Drives portkeeperd's web UI in Debian's Chromium, as a person would:
// logs in, reads the addresses and forwards, adds a forward and waits for
// it to become active, runs the doctor on a forward and reads its hairpin
// advice, removes the added forward.  Prints TAP ("ok N - ...") for
// tests/run.sh and saves a screenshot of each step.
//
// usage: node webui.mjs BASE_URL [USER [PASSWORD [PORT [SHOT_DIR]]]]
//   or the environment: PK_WEB_URL, PK_WEB_USER, PK_WEB_PASSWORD,
//   PK_WEB_PORT (the external port to add; "EXT:INT" for another internal
//   port), PK_WEB_SHOTS (default build/artifacts/webui), PK_WEB_DIAGNOSE
//   (the name of the forward to diagnose; default the first one shown),
//   PK_CHROMIUM (default /usr/bin/chromium).

import fs from 'node:fs';
import path from 'node:path';
import { request } from 'playwright-core';
import { cleanup, launch, tap } from './lib.mjs';

const argv = process.argv.slice(2);
const BASE = argv[0] || process.env.PK_WEB_URL;
const USER = argv[1] || process.env.PK_WEB_USER || 'admin';
const PASSWORD = argv[2] || process.env.PK_WEB_PASSWORD || '';
const PORTSPEC = argv[3] || process.env.PK_WEB_PORT || '8090';
const SHOTS = argv[4] || process.env.PK_WEB_SHOTS ||
    path.join(process.env.ARTIFACTS || 'build/artifacts', 'webui');
const DIAGNOSE = process.env.PK_WEB_DIAGNOSE || '';
const CHROMIUM = process.env.PK_CHROMIUM || '/usr/bin/chromium';

if (!BASE || !/^\d{1,5}(:\d{1,5})?$/.test(PORTSPEC)) {
	console.error('usage: node webui.mjs BASE_URL [USER [PASSWORD [PORT[:INTERNAL] [SHOT_DIR]]]]');
	process.exit(2);
}
const [EXT, INT] = PORTSPEC.split(':').map(Number);
const NAME = 'browser' + EXT;

fs.mkdirSync(SHOTS, { recursive: true });
const t = tap(SHOTS);
const { note, step, expect, shot } = t;
const browser = await launch(CHROMIUM);
const problems = [];	// uncaught exceptions and CSP violations
let page;
let added = false;

try {
	// 1. Without credentials: 401 with a Basic challenge.
	await step('without credentials the page and the API answer 401 with a Basic challenge', async () => {
		const api = await request.newContext();
		for (const u of ['', 'app.js', 'api/status', 'api/events']) {
			const r = await api.get(new URL(u, BASE).href);
			const wa = r.headers()['www-authenticate'] || '';
			expect(r.status() === 401, `GET /${u} without credentials: ${r.status()}, expected 401`);
			expect(/^Basic /i.test(wa), `GET /${u}: WWW-Authenticate is "${wa}"`);
		}
		const h = await api.get(new URL('api/health', BASE).href);
		expect(h.status() === 200, `GET /api/health without credentials: ${h.status()}`);
		await api.dispose();
		const wrong = await request.newContext({
			httpCredentials: { username: USER, password: PASSWORD + 'x' } });
		const w = await wrong.get(new URL('api/status', BASE).href);
		expect(w.status() === 401, `GET /api/status with a wrong password: ${w.status()}`);
		await wrong.dispose();
		// A headless browser has no login prompt: it gives up on the
		// challenge.  Passed through a route, the answer is shown as it
		// came, which is what a person without the password gets.
		const ctx = await browser.newContext();
		const p = await ctx.newPage();
		await p.route('**/*', async (route) => route.fulfill({ response: await route.fetch() }));
		const r = await p.goto(BASE);
		expect(r.status() === 401, `the browser got ${r.status()}, expected 401`);
		note('a browser without credentials sees: ' + (await p.innerText('body')).trim());
		await shot(p, '01-unauthorized.png');
		await ctx.close();
	});

	const ctx = await browser.newContext({
		httpCredentials: { username: USER, password: PASSWORD },
		viewport: { width: 1100, height: 900 },
		colorScheme: 'light',
	});
	page = await ctx.newPage();
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
	page.on('console', (m) => {
		if (/Content Security Policy|Refused to/i.test(m.text()))
			problems.push('console: ' + m.text());
	});

	// 2. Logged in: the page, under the daemon's CSP.
	const loggedIn = await step('with credentials the page loads, under a Content-Security-Policy', async () => {
		const r = await page.goto(BASE);
		expect(r.status() === 200, `status ${r.status()}`);
		const csp = r.headers()['content-security-policy'] || '';
		expect(csp.includes("default-src 'self'"), `Content-Security-Policy is "${csp}"`);
		await page.waitForSelector('body[data-loaded="true"]');
	});
	if (!loggedIn)
		throw new Error('cannot log in; the other steps need it');

	// 3. Addresses, router and forwards from /api/status.
	let first = null;
	await step('the addresses, the router and the forwards are shown', async () => {
		const ip4 = /^\d{1,3}(\.\d{1,3}){3}$/;
		await page.waitForSelector('#forwards li.fwd');
		const internal = (await page.textContent('#internal-ip')).trim();
		const external = (await page.textContent('#external-ip')).trim();
		const gw = (await page.textContent('#gw-address')).trim();
		expect(ip4.test(internal), `internal address "${internal}"`);
		expect(ip4.test(external), `external address "${external}"`);
		expect(ip4.test(gw), `gateway "${gw}"`);
		expect(await page.isVisible('#history-table tr td'), 'no external address history');
		const fwds = await page.$$eval('#forwards li.fwd', (ls) => ls.map((li) => ({
			name: li.dataset.name, state: li.dataset.state, source: li.dataset.source,
			ports: li.querySelector('.fwd-ports').textContent,
			badge: li.querySelector('.fwd-state').textContent,
			method: li.querySelector('.fwd-method').textContent,
			lease: li.querySelector('.fwd-lease').textContent,
		})));
		for (const f of fwds)
			note(`${f.name} [${f.source}] ${f.ports} ${f.badge} ${f.method} ${f.lease}`);
		first = fwds.find((f) => f.name === DIAGNOSE) || fwds[0];
		expect(fwds.every((f) => f.badge.trim() !== ''), 'a state badge without text');
		expect(fwds.some((f) => f.state === 'active'), 'no forward is active');
		/* The router's name, when its UPnP description gave one. */
		const router = (await page.isVisible('#gw-router-row')) ?
		    (await page.textContent('#gw-router')).trim() : null;
		expect(router !== '', 'a Router row without a name');
		note(`internal ${internal}, external ${external}, gateway ${gw}, router ${router ?? '(not named)'}`);
	});
	await step('the event stream is connected (live)', async () => {
		await page.waitForSelector('#conn[data-state="live"]');
	});
	await step('the lease countdown runs in the page', async () => {
		const sel = '#forwards li.fwd[data-state="active"] .fwd-lease';
		const a = await page.textContent(sel);
		await page.waitForFunction(([s, v]) => document.querySelector(s).textContent !== v,
		    [sel, a], { timeout: 4000 });
		note(`lease: "${a}" then "${await page.textContent(sel)}"`);
	});
	await step('a forward from the file cannot be removed, and the page says why', async () => {
		const li = page.locator('#forwards li.fwd[data-source="config"]').first();
		if (await li.count() === 0) {
			note('no forward from the file');
			return;
		}
		expect(await li.locator('.fwd-remove').isDisabled(), 'its Remove button is enabled');
		const why = await li.locator('.fwd-remove-why').textContent();
		expect(/portkeeper\.conf/.test(why), `explanation "${why}"`);
	});
	await shot(page, '02-overview.png');

	// 4. The add form: an API error is shown next to it.
	await step('adding a forward under a taken name shows the API\'s error next to the form', async () => {
		await page.fill('#f-name', first.name);
		await page.fill('#f-external', String(EXT));
		await page.selectOption('#f-protocol', 'tcp');
		await page.click('#add-submit');
		await page.waitForSelector('#add-msg.msg-bad');
		const msg = (await page.textContent('#add-msg')).trim();
		expect(msg.length > 0 && msg !== 'Adding…', `message "${msg}"`);
		note(`the API says: ${msg}`);
		await shot(page, '03-add-error.png');
	});

	// 5. Add a forward; it becomes active.
	await step(`adding the forward ${NAME} (${EXT}/tcp) through the form`, async () => {
		await page.fill('#f-name', NAME);
		await page.fill('#f-external', String(EXT));
		await page.fill('#f-internal', INT ? String(INT) : '');
		await page.selectOption('#f-protocol', 'tcp');
		await page.click('#add-submit');
		await page.waitForSelector('#add-msg.msg-ok');
		await page.waitForSelector(`#forwards li.fwd[data-name="${NAME}"]`);
		added = true;
		note(await page.textContent('#add-msg'));
		await shot(page, '04-added.png');
	});
	await step(`${NAME} becomes active`, async () => {
		const li = `#forwards li.fwd[data-name="${NAME}"]`;
		await page.waitForSelector(`${li}[data-state="active"]`, { timeout: 30000 });
		const badge = await page.textContent(`${li} .fwd-state`);
		expect(/active/i.test(badge), `badge "${badge}"`);
		expect(await page.isEnabled(`${li} .fwd-remove`), 'its Remove button is disabled');
		note(`${await page.textContent(`${li} .fwd-ports`)}: ${badge}, ` +
		    `${await page.textContent(`${li} .fwd-method`)}, ${await page.textContent(`${li} .fwd-lease`)}`);
		await shot(page, '05-active.png');
	});
	await step(`the events list shows an event for ${NAME}`, async () => {
		await page.waitForFunction((nm) => [...document.querySelectorAll('#events li')]
		    .some((li) => li.textContent.includes(nm)), NAME, { timeout: 10000 });
		note('newest event: ' + (await page.innerText('#events li')).replace(/\s+/g, ' '));
	});

	// 6. The doctor, on a forward, with NAT loopback off at the router.
	await step(`Diagnose on ${first && first.name} shows progress, then the report with the hairpin advice`, async () => {
		const li = page.locator(`#forwards li.fwd[data-name="${first.name}"]`);
		const btn = li.locator('.fwd-diagnose');
		await btn.click();
		// The run takes a second or more: the button waits, a bar shows.
		expect(await btn.isDisabled(), 'the Diagnose button stays enabled during the run');
		await li.locator('.doctor-progress progress').waitFor({ state: 'visible' });
		await shot(page, '06-diagnosing.png', li);
		await li.locator('.doctor .checks').waitFor({ timeout: 60000 });
		expect(await btn.isEnabled(), 'the Diagnose button is still disabled after the run');
		const verdict = await li.locator('.doctor-verdict').getAttribute('data-verdict');
		const summary = (await li.locator('.doctor-summary').textContent()).trim();
		const hp = li.locator('.check[data-check="hairpin"]');
		const status = await hp.getAttribute('data-status');
		const detail = (await hp.locator('.check-detail').textContent()).trim();
		const checks = await li.locator('.check').evaluateAll((ls) => ls.map((c) =>
		    `${c.dataset.status} ${c.dataset.check}: ${c.querySelector('.check-detail').textContent}`));
		note(`verdict ${verdict}`);
		note(`summary: ${summary}`);
		for (const c of checks)
			note(c);
		expect(checks.length === 7, `${checks.length} checks shown, expected 7`);
		expect(status === 'fail', `the hairpin check is "${status}", expected fail`);
		expect(/NAT loopback/.test(detail), `hairpin detail "${detail}"`);
		expect(verdict === 'hairpin_unsupported', `verdict "${verdict}", expected hairpin_unsupported`);
		// The advice in full: every fix, nothing cut off.
		expect(/internal address/.test(summary) && /DNS/.test(summary) &&
		    /NAT loopback/.test(summary), 'the summary lacks the fixes');
		const clipped = await li.locator('.doctor-summary, .check-detail').evaluateAll((ls) =>
		    ls.filter((e) => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1).length);
		expect(clipped === 0, `${clipped} texts of the report are cut off`);
		await li.locator('.doctor').scrollIntoViewIfNeeded();
		await shot(page, '07-diagnosis.png');
	});

	// 7. Remove the added forward, after an in-page confirmation.
	await step(`removing ${NAME} asks first, then it disappears`, async () => {
		const li = page.locator(`#forwards li.fwd[data-name="${NAME}"]`);
		await li.locator('.fwd-remove').click();
		await li.locator('.confirm').waitFor({ state: 'visible' });
		const q = await li.locator('.confirm-q').textContent();
		expect(q.includes(NAME), `question "${q}"`);
		await shot(page, '08-confirm-remove.png', li);
		await li.locator('.confirm-yes').click();
		await li.waitFor({ state: 'detached' });
		added = false;
		note(await page.textContent('#fwd-msg'));
		// A reload shows it gone from the daemon too, not only from the page.
		await page.reload();
		await page.waitForSelector('body[data-loaded="true"]');
		expect(await page.locator(`#forwards li.fwd[data-name="${NAME}"]`).count() === 0,
		    'it is back after a reload');
		await shot(page, '09-removed.png');
	});

	// 8. Keyboard, phone, dark.
	await step('keyboard focus is visible on the buttons', async () => {
		await page.focus('#f-name');
		let style = null;
		for (let i = 0; i < 10 && !style; i++) {
			await page.keyboard.press('Tab');
			style = await page.evaluate(() => {
				const a = document.activeElement;
				if (!a || a.tagName !== 'BUTTON')
					return null;
				const s = getComputedStyle(a);
				return { id: a.id, outline: s.outlineStyle, width: s.outlineWidth };
			});
		}
		expect(style && style.outline !== 'none' && style.width !== '0px',
		    `focused button: ${JSON.stringify(style)}`);
	});
	await step('readable on a 360 px wide phone (no sideways scrolling)', async () => {
		await page.setViewportSize({ width: 360, height: 780 });
		await page.waitForTimeout(200);
		const w = await page.evaluate(() => document.documentElement.scrollWidth);
		expect(w <= 360, `the page is ${w} px wide`);
		await shot(page, '10-phone.png');
	});
	await step('a dark colour scheme when the system asks for one', async () => {
		await page.setViewportSize({ width: 1100, height: 900 });
		await page.emulateMedia({ colorScheme: 'dark' });
		const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
		const m = bg.match(/\d+/g).map(Number);
		expect(m[0] + m[1] + m[2] < 200, `background ${bg}`);
		await shot(page, '11-dark.png');
	});
	await step('no script error and no Content-Security-Policy violation', async () => {
		expect(problems.length === 0, problems.join('\n'));
	});
} catch (e) {
	t.abort(e);
} finally {
	// Leave the daemon as it was, whatever went wrong.
	await cleanup({ page, shots: SHOTS, failed: t.failed(), browser, base: BASE,
	    user: USER, password: PASSWORD, forward: added ? NAME : null });
}
t.end();
