// The IPv6 parts of portkeeperd's web UI, in Debian's Chromium, on a home
// network whose IPv4 is behind carrier-grade NAT and whose IPv6 is routed:
// this host's IPv6 address and its history, a forward's pinhole beside its
// IPv4 forward, a forward added for IPv6 alone becoming active, the
// doctor's IPv6 checks and its ipv6_only verdict.  Prints TAP.
//
// The environment: PK_WEB_URL, PK_WEB_USER, PK_WEB_PASSWORD, PK_WEB_SHOTS,
// PK_CHROMIUM as for webui.mjs; PK_WEB6_ADDR (this host's IPv6 address
// now), PK_WEB6_OLD (the one before a prefix change, or empty),
// PK_WEB6_PORT (the port to add for IPv6 alone), PK_WEB6_FORWARD (the
// configured forward to look at and diagnose; default web).

import fs from 'node:fs';
import path from 'node:path';
import { cleanup, launch, tap } from './lib.mjs';

const env = process.env;
const BASE = env.PK_WEB_URL;
const USER = env.PK_WEB_USER || 'admin';
const PASSWORD = env.PK_WEB_PASSWORD || '';
const ADDR = env.PK_WEB6_ADDR || '';
const OLD = env.PK_WEB6_OLD || '';
const PORT = Number(env.PK_WEB6_PORT || '8091');
const FWD = env.PK_WEB6_FORWARD || 'web';
const SHOTS = env.PK_WEB_SHOTS || path.join(env.ARTIFACTS || 'build/artifacts', 'webui6');
const NAME = 'v6only' + PORT;

if (!BASE || !ADDR) {
	console.error('usage: PK_WEB_URL=URL PK_WEB6_ADDR=ADDR node webui6.mjs');
	process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });
const t = tap(SHOTS);
const { note, step, expect, shot } = t;
const browser = await launch(env.PK_CHROMIUM || '/usr/bin/chromium');
const problems = [];
let page;
let added = false;

// What a forward's entry shows of its two families.
async function entry(name) {
	return page.$eval(`#forwards li.fwd[data-name="${name}"]`, (li) => ({
		state: li.dataset.state, v6state: li.dataset.v6state || '',
		family: li.querySelector('.fwd-family').textContent,
		v6row: !li.querySelector('.fwd-v6-row').hidden,
		v6badge: li.querySelector('.fwd-v6-state').textContent,
		v6addr: li.querySelector('.fwd-v6-addr').textContent,
		v6method: li.querySelector('.fwd-v6-method').textContent,
		v6lease: li.querySelector('.fwd-v6-lease').textContent,
		error: li.querySelector('.fwd-error').hidden ? '' : li.querySelector('.fwd-error').textContent,
	}));
}

try {
	const ctx = await browser.newContext({
		httpCredentials: { username: USER, password: PASSWORD },
		viewport: { width: 1100, height: 900 }, colorScheme: 'light',
	});
	page = await ctx.newPage();
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => problems.push('uncaught: ' + e.message));
	page.on('console', (m) => {
		if (/Content Security Policy|Refused to/i.test(m.text()))
			problems.push('console: ' + m.text());
	});
	const r = await page.goto(BASE);
	expect(r.status() === 200, `GET ${BASE}: ${r.status()}`);
	await page.waitForSelector('body[data-loaded="true"]');

	await step('this host\'s IPv6 address is shown, with its kind', async () => {
		const a = (await page.textContent('#ipv6-addr')).trim();
		const kind = (await page.textContent('#ipv6-kind')).trim();
		note(`IPv6 address ${a} ${kind}`);
		expect(a === ADDR, `"${a}", expected ${ADDR}`);
		expect(kind !== '', 'no kind shown');
	});
	if (OLD) {
		await step('the IPv6 address history shows the new address as now and the old one', async () => {
			await page.waitForSelector('#history6-wrap:not([hidden])');
			const rows = await page.$$eval('#history6 tr', (ts) => ts.map((tr) => ({
				addr: tr.querySelector('td').firstChild.textContent, now: tr.className === 'current' })));
			note(JSON.stringify(rows));
			expect(rows.length >= 2, `${rows.length} rows`);
			expect(rows[0].addr === ADDR && rows[0].now, `first row ${JSON.stringify(rows[0])}`);
			expect(rows.some((x) => x.addr === OLD), `no row for ${OLD}`);
		});
	}
	await step(`the forward ${FWD} shows both families, its pinhole active at [${ADDR}]`, async () => {
		await page.waitForSelector(`#forwards li.fwd[data-name="${FWD}"][data-v6state="active"]`, { timeout: 20000 });
		const f = await entry(FWD);
		note(JSON.stringify(f));
		expect(/IPv4 and IPv6/.test(f.family), `families "${f.family}"`);
		expect(f.v6row, 'no IPv6 row');
		expect(/active/i.test(f.v6badge), `pinhole badge "${f.v6badge}"`);
		expect(f.v6addr.startsWith('[' + ADDR + ']:'), `pinhole "${f.v6addr}"`);
		expect(f.v6method !== '', 'no method for the pinhole');
	});
	await step('the pinhole\'s lease counts down', async () => {
		const sel = `#forwards li.fwd[data-name="${FWD}"] .fwd-v6-lease`;
		const a = await page.textContent(sel);
		await page.waitForFunction(([s, v]) => document.querySelector(s).textContent !== v,
		    [sel, a], { timeout: 4000 });
		note(`pinhole lease: "${a}" then "${await page.textContent(sel)}"`);
	});
	await shot(page, '01-overview6.png');

	await step(`adding ${NAME} for IPv6 only (${PORT}) through the form; its pinhole becomes active`, async () => {
		await page.fill('#f-name', NAME);
		await page.fill('#f-external', String(PORT));
		await page.fill('#f-internal', '');
		await page.selectOption('#f-family', '6');
		await page.click('#add-submit');
		await page.waitForSelector('#add-msg.msg-ok');
		added = true;
		const li = `#forwards li.fwd[data-name="${NAME}"]`;
		await page.waitForSelector(`${li}[data-v6state="active"]`, { timeout: 30000 });
		const f = await entry(NAME);
		note(JSON.stringify(f));
		expect(/IPv6 only/.test(f.family), `families "${f.family}"`);
		expect(f.state === 'active', `an IPv6-only forward's badge says "${f.state}", not its pinhole's state`);
		expect(f.v6addr === `[${ADDR}]:${PORT}`, `pinhole "${f.v6addr}"`);
		await shot(page, '02-added6.png');
	});
	await step('an IPv6-only forward with another internal port is refused in the form', async () => {
		await page.fill('#f-name', 'x' + NAME);
		await page.fill('#f-external', String(PORT + 1));
		await page.fill('#f-internal', String(PORT + 2));
		await page.selectOption('#f-family', '6');
		await page.click('#add-submit');
		const msg = (await page.textContent('#add-msg')).trim();
		expect(/translation/.test(msg), `message "${msg}"`);
		expect(await page.locator(`#forwards li.fwd[data-name="x${NAME}"]`).count() === 0, 'it was added');
		await page.fill('#f-internal', '');
		await page.selectOption('#f-family', 'both');
	});
	await step('the events list shows the pinhole events', async () => {
		await page.waitForSelector('#events li[data-event="pinhole_added"]', { timeout: 10000 });
		note('pinhole event: ' + (await page.innerText('#events li[data-event="pinhole_added"]')).replace(/\s+/g, ' '));
	});

	await step(`Diagnose on ${FWD} says it works over IPv6 only, with the IPv6 checks`, async () => {
		const li = page.locator(`#forwards li.fwd[data-name="${FWD}"]`);
		await li.locator('.fwd-diagnose').click();
		await li.locator('.doctor .checks').waitFor({ timeout: 60000 });
		const verdict = await li.locator('.doctor-verdict').getAttribute('data-verdict');
		const summary = (await li.locator('.doctor-summary').textContent()).trim();
		const checks = await li.locator('.check').evaluateAll((ls) => ls.map((c) =>
		    ({ id: c.dataset.check, status: c.dataset.status,
		       name: c.querySelector('.check-name').textContent,
		       detail: c.querySelector('.check-detail').textContent })));
		note(`verdict ${verdict}: ${summary}`);
		for (const c of checks)
			note(`${c.status} ${c.id}: ${c.detail}`);
		expect(verdict === 'ipv6_only', `verdict "${verdict}", expected ipv6_only`);
		expect(/AAAA/.test(summary), 'the summary does not say to publish AAAA');
		for (const id of ['ipv6_address', 'ipv6_listener', 'ipv6_external']) {
			const c = checks.find((x) => x.id === id);
			expect(c && c.status === 'pass', `check ${id}: ${JSON.stringify(c)}`);
			expect(!/^ipv6_|^pinhole/.test(c.name), `check ${id} has no label: "${c.name}"`);
		}
		await li.locator('.doctor').scrollIntoViewIfNeeded();
		await shot(page, '03-diagnosis6.png');
	});

	await step(`removing ${NAME}`, async () => {
		const li = page.locator(`#forwards li.fwd[data-name="${NAME}"]`);
		await li.locator('.fwd-remove').click();
		await li.locator('.confirm-yes').click();
		await li.waitFor({ state: 'detached' });
		added = false;
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
