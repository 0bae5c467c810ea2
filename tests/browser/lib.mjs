// What the browser tests share: TAP output for tests/run.sh ("ok N - ..."),
// screenshots, and Debian's Chromium started the one way that works in a
// network namespace as root.

import path from 'node:path';
import { chromium } from 'playwright-core';

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
