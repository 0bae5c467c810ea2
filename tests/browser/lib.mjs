// What the browser tests share: TAP output for tests/run.sh ("ok N - ..."),
// screenshots, and Debian's Chromium started the one way that works in a
// network namespace as root.

import path from 'node:path';
import { chromium, request } from 'playwright-core';

// Chromium, headless, without the sandbox (root) and without any traffic
// of its own (updates, safe browsing): only the page's.
export async function launch(executablePath) {
	return chromium.launch({
		executablePath: executablePath,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--disable-background-networking', '--disable-component-update',
		    '--no-first-run'],
	});
}

// A TAP stream: step() runs one case and prints ok/not ok, shot() saves a
// screenshot into shots, end() prints the plan and exits 1 if any failed.
export function tap(shots) {
	let n = 0;
	let failed = 0;

	function note(s) {
		for (const line of String(s).split('\n'))
			console.log('# ' + line);
	}

	// One test case: runs fn, prints ok/not ok; returns whether it passed.
	async function step(name, fn) {
		n++;
		try {
			await fn();
			console.log(`ok ${n} - ${name}`);
			return true;
		} catch (e) {
			failed++;
			console.log(`not ok ${n} - ${name}`);
			note(e && e.message ? e.message.split('\n').slice(0, 12).join('\n') : e);
			return false;
		}
	}

	function expect(cond, msg) {
		if (!cond)
			throw new Error(msg);
	}

	// A screenshot of the whole page, or of one element of it.
	async function shot(page, file, locator) {
		const to = path.join(shots, file);
		if (locator)
			await locator.screenshot({ path: to });
		else
			await page.screenshot({ path: to, fullPage: true });
		note('screenshot ' + to);
	}

	// Something outside any step went wrong: it counts as a failed case.
	function abort(e) {
		failed++;
		n++;
		console.log(`not ok ${n} - ${e && e.message ? e.message : e}`);
	}

	function end() {
		console.log(`1..${n}`);
		process.exit(failed ? 1 : 0);
	}

	return { note, step, expect, shot, abort, end, failed: () => failed };
}

// The end of a run, whatever went wrong: a screenshot of the page when a
// case failed, the forward the run added (o.forward, or null) removed
// through the API, and the browser closed.
export async function cleanup(o) {
	if (o.page && o.failed)
		await o.page.screenshot({ path: path.join(o.shots, 'failure.png'), fullPage: true }).catch(() => {});
	if (o.forward) {
		const api = await request.newContext({ httpCredentials: { username: o.user, password: o.password } });
		await api.delete(new URL('api/forwards/' + o.forward, o.base).href, {
			headers: { Origin: new URL(o.base).origin } }).catch(() => {});
		await api.dispose();
	}
	await o.browser.close();
}
