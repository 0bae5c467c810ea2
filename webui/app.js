/*
 * portkeeper's web UI.  Reads GET /api/status once, then follows
 * GET /api/events (server-sent events): a "status" event carries the whole
 * status document and the page is brought up to date from it; every other
 * event is an entry of the daemon's event log.  See docs/api.md.
 *
 * Everything that comes from the daemon (names, addresses, errors, the
 * doctor's sentences) goes into the page as text, never as HTML: the
 * router's own strings end up in it.  No inline script or style, so that
 * the daemon's Content-Security-Policy can stay "default-src 'self'".
 */
'use strict';

(function () {
	const NAME_RE = /^[A-Za-z0-9_.-]{1,63}$/;
	const MAX_EVENTS = 100;
	const EVENT_TYPES = [
		'external_ip_changed', 'internal_ip_changed', 'mapping_added',
		'mapping_lost', 'mapping_restored', 'mapping_failed',
		'mapping_removed', 'router_restarted', 'gateway_changed',
		'ipv6_address_changed', 'pinhole_added', 'pinhole_lost',
		'pinhole_restored', 'pinhole_failed', 'pinhole_removed',
	];
	const EVENT_LABELS = {
		external_ip_changed: 'External address changed',
		internal_ip_changed: 'Internal address changed',
		mapping_added: 'Forward made',
		mapping_lost: 'Forward lost',
		mapping_restored: 'Forward restored',
		mapping_failed: 'Forward failed',
		mapping_removed: 'Forward removed',
		router_restarted: 'Router restarted',
		gateway_changed: 'Gateway changed',
		ipv6_address_changed: 'IPv6 address changed',
		pinhole_added: 'IPv6 pinhole made',
		pinhole_lost: 'IPv6 pinhole lost',
		pinhole_restored: 'IPv6 pinhole restored',
		pinhole_failed: 'IPv6 pinhole failed',
		pinhole_removed: 'IPv6 pinhole removed',
	};
	const EVENT_TONE = {
		mapping_lost: 'ev-bad', mapping_failed: 'ev-bad',
		mapping_added: 'ev-good', mapping_restored: 'ev-good',
		pinhole_lost: 'ev-bad', pinhole_failed: 'ev-bad',
		pinhole_added: 'ev-good', pinhole_restored: 'ev-good',
	};
	const STATE_LABELS = { active: 'Active', pending: 'Pending', failed: 'Failed' };
	const METHOD_LABELS = { upnp: 'UPnP-IGD', natpmp: 'NAT-PMP', pcp: 'PCP' };
	const KIND_LABELS = {
		static: 'set by hand', dhcpv6: 'from DHCPv6', eui64: 'from the hardware address',
		stable_privacy: 'stable, privacy-preserving', temporary: 'temporary',
	};
	const CHECK_LABELS = {
		gateway: 'Router protocols',
		external_ip: 'External address',
		internal_ip: 'This host’s address',
		listener: 'Server listening',
		mapping: 'Forward on the router',
		hairpin: 'NAT loopback (from home)',
		external: 'From the internet',
		ipv6_address: 'This host’s IPv6 address',
		ipv6_route: 'IPv6 default route',
		pinhole_service: 'Router opens IPv6 pinholes',
		ipv6_listener: 'Server listening over IPv6',
		pinhole: 'IPv6 pinhole',
		ipv6_external: 'From the internet over IPv6',
		ipv6_exposure: 'Who may open IPv6 pinholes',
	};
	const CHECK_STATUS = { pass: 'Pass', warn: 'Warning', fail: 'Fail', skip: 'Skipped' };
	const VERDICT_LABELS = {
		ok: 'Works',
		no_gateway: 'No UPnP or NAT-PMP',
		cgnat: 'Carrier-grade NAT',
		double_nat: 'Double NAT',
		mapping_conflict: 'Port held by another host',
		no_listener: 'Nothing listening',
		no_mapping: 'Not forwarded',
		external_blocked: 'Blocked from outside',
		hairpin_unsupported: 'No NAT loopback',
		ipv6_no_address: 'No IPv6 address',
		ipv6_no_pinhole_service: 'Router opens no IPv6 pinholes',
		ipv6_pinhole_refused: 'IPv6 pinhole refused',
		ipv6_no_listener: 'Nothing listening over IPv6',
		ipv6_blocked: 'Blocked over IPv6',
		ipv6_only: 'Works over IPv6 only',
	};

	const $ = (id) => document.getElementById(id);

	/* The page's state: the last status document, one entry per forward
	 * (keyed by name, so that a re-render keeps focus, an open
	 * confirmation and a doctor's report), and the events by seq. */
	const forwards = new Map();
	const events = new Map();
	let internalIp = null;
	let skewMs = 0;		/* the daemon's clock minus ours */
	let fwdSerial = 0;

	/* ---------------------------------------------------------------- */
	/* Small helpers */

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function str(v, dflt) {
		return v === undefined || v === null || v === '' ? dflt : String(v);
	}

	function num(v) {
		return typeof v === 'number' && isFinite(v) ? v : null;
	}

	function nowSec() {
		return (Date.now() + skewMs) / 1000;
	}

	function localDate(sec, withSeconds) {
		if (num(sec) === null || sec <= 0)
			return '—';
		const opts = { dateStyle: 'medium', timeStyle: withSeconds ? 'medium' : 'short' };
		return new Date(sec * 1000).toLocaleString(undefined, opts);
	}

	function isoDate(sec) {
		return num(sec) !== null && sec > 0 ? new Date(sec * 1000).toISOString() : '';
	}

	function ago(sec) {
		if (num(sec) === null || sec <= 0)
			return 'never';
		const d = Math.round(nowSec() - sec);
		if (d < 5)
			return 'just now';
		if (d < 60)
			return d + ' s ago';
		if (d < 3600)
			return Math.floor(d / 60) + ' min ago';
		if (d < 86400) {
			const h = Math.floor(d / 3600), m = Math.floor((d % 3600) / 60);
			return h + ' h ' + m + ' min ago';
		}
		return localDate(sec, false);
	}

	function duration(s) {
		s = Math.max(0, Math.floor(s));
		const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
		const p2 = (n) => (n < 10 ? '0' : '') + n;
		if (h > 0)
			return h + ' h ' + p2(m) + ' min ' + p2(r) + ' s';
		if (m > 0)
			return m + ' min ' + p2(r) + ' s';
		return r + ' s';
	}

	function setMsg(node, text, tone) {
		node.textContent = text || '';
		node.classList.toggle('msg-bad', tone === 'bad');
		node.classList.toggle('msg-ok', tone === 'ok');
	}

	/*
	 * One API call.  Resolves to {ok, status, data, message}: message is
	 * the API's own sentence on failure ({"error":{"message"}}), or one of
	 * ours when there was none.
	 */
	async function api(method, path, body) {
		const init = { method: method, cache: 'no-store', credentials: 'same-origin', headers: {} };
		if (body !== undefined) {
			init.headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let r;
		try {
			r = await fetch(path, init);
		} catch (e) {
			return { ok: false, status: 0, data: null,
			    message: 'portkeeperd cannot be reached (' + e.message + ').' };
		}
		const date = Date.parse(r.headers.get('Date') || '');
		if (!isNaN(date))
			skewMs = date - Date.now();
		let data = null;
		if ((r.headers.get('Content-Type') || '').includes('json')) {
			try {
				data = await r.json();
			} catch (e) {
				data = null;
			}
		}
		if (r.ok)
			return { ok: true, status: r.status, data: data, message: '' };
		let message = data && data.error && typeof data.error.message === 'string' ?
		    data.error.message : '';
		if (!message && r.status === 401)
			message = 'Your login was not accepted: reload the page to log in again.';
		if (!message)
			message = 'portkeeperd answered ' + r.status + ' ' + r.statusText + '.';
		return { ok: false, status: r.status, data: data, message: message };
	}

	/* ---------------------------------------------------------------- */
	/* Addresses and the router */

	function renderAddresses(doc) {
		internalIp = str(doc.internal_ip, null);
		$('internal-ip').textContent = str(doc.internal_ip, 'unknown');
		$('external-ip').textContent = str(doc.external_ip, 'unknown');

		const hist = Array.isArray(doc.external_ip_history) ? doc.external_ip_history.slice() : [];
		const body = $('history');
		body.replaceChildren();
		/* Newest first, like the events. */
		hist.reverse().forEach((h, i) => {
			const tr = el('tr', i === 0 && h.ip === doc.external_ip ? 'current' : '');
			const ip = el('td', 'mono', str(h.ip, '?'));
			if (tr.className)
				ip.appendChild(el('span', 'muted small', ' (now)'));
			tr.appendChild(ip);
			for (const k of ['first_seen', 'last_seen']) {
				const td = el('td');
				const t = el('time', '', localDate(h[k], false));
				t.dateTime = isoDate(h[k]);
				td.appendChild(t);
				tr.appendChild(td);
			}
			body.appendChild(tr);
		});
		$('history-table').hidden = hist.length === 0;
		$('history-empty').hidden = hist.length !== 0;
		renderIpv6(doc.ipv6 && typeof doc.ipv6 === 'object' ? doc.ipv6 : null);
	}

	/* This host's IPv6 address (the pinholes lead to it) and its history. */
	function renderIpv6(v6) {
		const addr = v6 ? str(v6.address, null) : null;
		$('ipv6-addr').textContent = str(addr, v6 && v6.enabled === false ? 'off' : 'none');
		$('ipv6-kind').textContent = addr && v6.kind ? '(' + str(KIND_LABELS[v6.kind], v6.kind) + ')' : '';
		const hist = v6 && Array.isArray(v6.history) ? v6.history.slice() : [];
		const body = $('history6');
		body.replaceChildren();
		hist.reverse().forEach((h, i) => {
			if (!h || typeof h !== 'object')
				return;
			const a = str(h.address, str(h.ip, '?'));
			const tr = el('tr', i === 0 && a === addr ? 'current' : '');
			const td = el('td', 'mono', a);
			if (tr.className)
				td.appendChild(el('span', 'muted small', ' (now)'));
			tr.appendChild(td);
			for (const k of ['first_seen', 'last_seen']) {
				const c = el('td');
				const t = el('time', '', localDate(h[k], false));
				t.dateTime = isoDate(h[k]);
				c.appendChild(t);
				tr.appendChild(c);
			}
			body.appendChild(tr);
		});
		$('history6-wrap').hidden = hist.length === 0;
	}

	function yesNo(node, found, yes, no) {
		node.replaceChildren(el('span', found ? 'yes' : 'no', found ? yes : no));
	}

	function renderGateway(doc) {
		const g = doc.gateway && typeof doc.gateway === 'object' ? doc.gateway : {};
		const upnp = g.upnp && typeof g.upnp === 'object' ? g.upnp : {};
		const pmp = g.natpmp && typeof g.natpmp === 'object' ? g.natpmp : {};

		$('gw-address').textContent = str(g.address, 'no default gateway');
		$('gw-interface').textContent = g.interface ? 'on ' + g.interface : '';
		yesNo($('gw-upnp'), upnp.found === true,
		    upnp.connected === false ? 'answers (its IGD says it is not connected)' : 'answers',
		    'no answer');
		yesNo($('gw-natpmp'), pmp.found === true, 'answers', 'no answer');
		$('gw-method').textContent = g.method ? str(METHOD_LABELS[g.method], g.method) : 'none';
		const err = $('gw-error');
		err.textContent = str(g.error, '');
		err.hidden = !g.error;
		renderRouter(doc.router && typeof doc.router === 'object' ? doc.router : null);
	}

	/* The router's name from its UPnP description, and its quirks in words. */
	function renderRouter(rt) {
		const label = rt ? str(rt.label, null) : null;
		$('gw-router-row').hidden = label === null;
		$('gw-router').textContent = str(label, '');
		$('gw-service').textContent = rt && rt.service ? '(' + rt.service + ')' : '';
		const notes = rt && Array.isArray(rt.notes) ? rt.notes.filter((n) => typeof n === 'string') : [];
		const ul = $('gw-quirks');
		ul.replaceChildren(...notes.map((n) => el('li', '', n)));
		ul.hidden = notes.length === 0;
	}

	/* ---------------------------------------------------------------- */
	/* Forwards */

	function newEntry(name) {
		const li = $('tpl-forward').content.firstElementChild.cloneNode(true);
		const q = (c) => li.querySelector('.' + c);
		const id = 'fwd' + (++fwdSerial);
		const e = {
			name: name, li: li, f: null, expiresAt: null, doctorRunning: false,
			nameEl: q('fwd-name'), source: q('fwd-source'), state: q('fwd-state'),
			ports: q('fwd-ports'), method: q('fwd-method'), lease: q('fwd-lease'),
			refresh: q('fwd-refresh'), error: q('fwd-error'),
			v6row: q('fwd-v6-row'), v6state: q('fwd-v6-state'), v6addr: q('fwd-v6-addr'),
			v6method: q('fwd-v6-method'), v6lease: q('fwd-v6-lease'), v6error: q('fwd-v6-error'),
			v6At: null, family: q('fwd-family'),
			diagnose: q('fwd-diagnose'), remove: q('fwd-remove'), why: q('fwd-remove-why'),
			confirm: q('confirm'), confirmQ: q('confirm-q'),
			yes: q('confirm-yes'), no: q('confirm-no'),
			msg: q('fwd-msg'), doctor: q('doctor'),
		};
		li.dataset.name = name;
		e.nameEl.id = id + '-name';
		e.why.id = id + '-why';
		e.confirmQ.id = id + '-q';
		e.confirm.setAttribute('role', 'group');
		e.confirm.setAttribute('aria-labelledby', e.confirmQ.id);
		e.diagnose.setAttribute('aria-describedby', e.nameEl.id);
		e.diagnose.addEventListener('click', () => diagnose(e));
		e.remove.addEventListener('click', () => askRemove(e));
		e.no.addEventListener('click', () => cancelRemove(e));
		e.yes.addEventListener('click', () => doRemove(e));
		e.confirm.addEventListener('keydown', (ev) => {
			if (ev.key === 'Escape')
				cancelRemove(e);
		});
		return e;
	}

	function portsText(f) {
		return str(f.external_port, '?') + '/' + str(f.protocol, '?') + ' → ' +
		    str(internalIp, 'this host') + ':' + str(f.internal_port, '?');
	}

	/* A forward kept over IPv6 alone is as its pinhole is. */
	function mainState(f) {
		return f.family === '6' && f.ipv6 && typeof f.ipv6 === 'object' ? f.ipv6.state : f.state;
	}

	function updateEntry(e, f) {
		const state = STATE_LABELS[mainState(f)] ? mainState(f) : 'unknown';
		e.f = f;
		e.li.dataset.state = state;
		e.li.dataset.source = str(f.source, '');
		e.nameEl.textContent = str(f.name, '?');

		const web = f.source === 'web';
		e.source.textContent = web ? 'web' : f.source === 'config' ? 'config file' : str(f.source, 'unknown source');
		e.source.className = 'tag fwd-source' + (web ? ' tag-web' : '');
		e.source.title = web ? 'Added through this page' : f.source === 'config' ? 'From portkeeper.conf' : '';

		e.state.className = 'badge fwd-state badge-' + state;
		e.state.textContent = str(STATE_LABELS[state], str(mainState(f), 'unknown'));

		e.ports.textContent = portsText(f);
		e.method.textContent = f.method ? str(METHOD_LABELS[f.method], f.method) : '—';

		const exp = num(f.expires_in);
		e.expiresAt = exp === null ? null : Date.now() / 1000 + exp;
		tickEntry(e);

		e.error.textContent = str(f.error, '');
		e.error.hidden = !f.error;
		updateV6(e, f);

		/* Only forwards added here can be removed here: one from the
		 * file would come back at the next start. */
		e.remove.disabled = !web || e.removing === true;
		e.why.hidden = web;
		if (web) {
			e.remove.removeAttribute('aria-describedby');
		} else {
			e.why.textContent = 'Set in portkeeper.conf: remove it there.';
			e.remove.setAttribute('aria-describedby', e.why.id);
			e.confirm.hidden = true;
		}
		e.remove.setAttribute('aria-label', 'Remove ' + str(f.name, ''));
		e.diagnose.setAttribute('aria-label', (e.doctorRunning ? 'Diagnosing ' : 'Diagnose ') + str(f.name, ''));
	}

	/*
	 * A forward's two families: "both" shows the IPv4 forward and the
	 * IPv6 pinhole, each with its own state; a forward of one family
	 * shows that one.  The pinhole opens the internal port at this
	 * host's own IPv6 address: there is no translation over IPv6.
	 */
	function updateV6(e, f) {
		const fam = str(f.family, 'both');
		e.family.textContent = fam === '4' ? 'IPv4 only' : fam === '6' ? 'IPv6 only' : 'IPv4 and IPv6';
		const v6 = f.ipv6 && typeof f.ipv6 === 'object' ? f.ipv6 : null;
		e.v6row.hidden = v6 === null;
		e.v6error.hidden = true;
		e.v6At = null;
		if (v6 === null)
			return;
		const st = STATE_LABELS[v6.state] ? v6.state : 'unknown';
		e.li.dataset.v6state = st;
		e.v6state.className = 'badge fwd-v6-state badge-' + st;
		e.v6state.textContent = str(STATE_LABELS[v6.state], str(v6.state, 'off'));
		e.v6addr.textContent = '[' + str(v6.address, 'no address') + ']:' +
		    str(v6.port, str(f.internal_port, '?'));
		e.v6method.textContent = v6.method ? 'via ' + str(METHOD_LABELS[v6.method], v6.method) : '';
		const exp = num(v6.expires_in);
		e.v6At = exp === null ? null : Date.now() / 1000 + exp;
		e.v6error.textContent = str(v6.error, '');
		e.v6error.hidden = !v6.error;
	}

	/* The lease countdown and the refresh age, every second. */
	function tickEntry(e) {
		if (e.v6At !== null) {
			const left6 = e.v6At - Date.now() / 1000;
			e.v6lease.textContent = left6 >= 1 ? duration(left6) + ' left' : 'renewing…';
		} else {
			e.v6lease.textContent = '';
		}
		const f = e.f;
		if (f.permanent === true) {
			/* The router granted it for good: nothing to count down. */
			e.lease.textContent = 'permanent';
			e.lease.title = 'The router granted it without a lease: it stays until it is removed.';
		} else if (e.expiresAt === null) {
			e.lease.textContent = f.state === 'pending' ? 'waiting for the router' : '—';
		} else {
			const left = e.expiresAt - Date.now() / 1000;
			e.lease.textContent = left >= 1 ? duration(left) + ' left' : 'renewing…';
		}
		if (f.permanent !== true)
			e.lease.title = '';
		e.refresh.textContent = ago(f.last_refresh);
		e.refresh.title = f.last_refresh ? localDate(f.last_refresh, true) : '';
	}

	function renderForwards(list) {
		const ul = $('forwards');
		const seen = new Set();
		list.forEach((f, i) => {
			if (!f || typeof f.name !== 'string')
				return;
			seen.add(f.name);
			let e = forwards.get(f.name);
			if (!e) {
				e = newEntry(f.name);
				forwards.set(f.name, e);
			}
			updateEntry(e, f);
			/* Move only what is out of place, so focus stays put. */
			if (ul.children[i] !== e.li)
				ul.insertBefore(e.li, ul.children[i] || null);
		});
		for (const [name, e] of forwards) {
			if (!seen.has(name))
				dropEntry(e);
		}
		updateCounts();
	}

	function dropEntry(e) {
		const hadFocus = e.li.contains(document.activeElement);
		forwards.delete(e.name);
		e.li.remove();
		if (hadFocus)
			$('fwd-h').focus();
		updateCounts();
	}

	function updateCounts() {
		const all = [...forwards.values()].map((e) => e.f);
		const n = (s) => all.filter((f) => mainState(f) === s).length;
		$('fwd-empty').hidden = all.length !== 0;
		const parts = [];
		if (n('active'))
			parts.push(n('active') + ' active');
		if (n('pending'))
			parts.push(n('pending') + ' pending');
		if (n('failed'))
			parts.push(n('failed') + ' failed');
		$('fwd-count').textContent = parts.join(' · ');
		document.title = 'portkeeper' + (all.length ? ' — ' + parts.join(', ') : '');
	}

	function upsertForward(f) {
		const list = [...forwards.values()].map((e) => e.f).filter((x) => x.name !== f.name);
		list.push(f);
		renderForwards(list);
	}

	/* ---------------------------------------------------------------- */
	/* Remove */

	function askRemove(e) {
		if (!e.f || e.f.source !== 'web')
			return;
		e.confirmQ.textContent = 'Remove the forward “' + e.name + '” (' +
		    str(e.f.external_port, '?') + '/' + str(e.f.protocol, '?') +
		    ')? The router stops forwarding this port.';
		e.confirm.hidden = false;
		e.remove.setAttribute('aria-expanded', 'true');
		e.no.focus();
	}

	function cancelRemove(e) {
		e.confirm.hidden = true;
		e.remove.setAttribute('aria-expanded', 'false');
		e.remove.focus();
	}

	async function doRemove(e) {
		e.yes.disabled = e.no.disabled = true;
		e.removing = true;
		e.remove.disabled = true;
		setMsg(e.msg, 'Removing…', null);
		const r = await api('DELETE', 'api/forwards/' + encodeURIComponent(e.name));
		e.yes.disabled = e.no.disabled = false;
		e.removing = false;
		if (r.ok || r.status === 404) {
			setMsg($('fwd-msg'), 'Removed the forward “' + e.name + '”.', 'ok');
			dropEntry(e);
			return;
		}
		e.confirm.hidden = true;
		e.remove.disabled = !(e.f && e.f.source === 'web');
		setMsg(e.msg, 'Not removed: ' + r.message, 'bad');
		e.remove.focus();
	}

	/* ---------------------------------------------------------------- */
	/* The doctor */

	async function diagnose(e) {
		if (e.doctorRunning || !e.f)
			return;
		const f = e.f;
		e.doctorRunning = true;
		e.diagnose.disabled = true;
		e.diagnose.setAttribute('aria-busy', 'true');
		e.diagnose.textContent = 'Diagnosing…';
		setMsg(e.msg, '', null);

		const box = e.doctor;
		const prog = el('div', 'doctor-progress');
		const bar = el('progress');
		bar.setAttribute('aria-label', 'Diagnosis in progress');
		const secs = el('span', 'muted', 'Running the checks on port ' +
		    f.external_port + '/' + f.protocol + '…');
		prog.append(bar, secs);
		box.replaceChildren(prog);
		box.hidden = false;
		box.setAttribute('aria-busy', 'true');
		const t0 = Date.now();
		const timer = setInterval(() => {
			secs.textContent = 'Running the checks on port ' + f.external_port +
			    '/' + f.protocol + '… ' + Math.round((Date.now() - t0) / 1000) + ' s';
		}, 1000);

		const r = await api('POST', 'api/doctor',
		    { port: f.external_port, protocol: f.protocol });
		clearInterval(timer);
		box.removeAttribute('aria-busy');
		e.doctorRunning = false;
		e.diagnose.disabled = false;
		e.diagnose.removeAttribute('aria-busy');
		e.diagnose.textContent = 'Diagnose again';
		e.diagnose.setAttribute('aria-label', 'Diagnose ' + e.name + ' again');

		if (r.ok && r.data && typeof r.data === 'object') {
			renderReport(e, r.data);
			setMsg(e.msg, 'Diagnosis finished: ' +
			    str(VERDICT_LABELS[r.data.verdict], str(r.data.verdict, '?')) + '.', null);
		} else {
			box.replaceChildren(el('p', 'notice notice-bad', 'The diagnosis did not run: ' + r.message));
		}
	}

	function renderReport(e, rep) {
		const box = e.doctor;
		const ok = rep.verdict === 'ok';
		const head = el('div', 'doctor-head');
		head.appendChild(el('h4', '', 'Diagnosis'));
		const v = el('span', 'badge doctor-verdict ' + (ok ? 'badge-ok' : 'badge-bad'),
		    str(VERDICT_LABELS[rep.verdict], str(rep.verdict, 'unknown')));
		v.dataset.verdict = str(rep.verdict, '');
		head.appendChild(v);
		const hide = el('button', 'btn doctor-hide', 'Hide');
		hide.type = 'button';
		hide.setAttribute('aria-label', 'Hide the diagnosis of ' + e.name);
		hide.addEventListener('click', () => {
			box.hidden = true;
			box.replaceChildren();
			e.diagnose.textContent = 'Diagnose';
			e.diagnose.setAttribute('aria-label', 'Diagnose ' + e.name);
			e.diagnose.focus();
		});
		head.appendChild(hide);

		let target = 'port ' + str(rep.port, '?') + '/' + str(rep.protocol, '?') + ' → ' +
		    str(rep.internal_ip, '?') + ':' + str(rep.internal_port, '?');
		const rt = rep.router && typeof rep.router === 'object' ? rep.router : {};
		if (rep.gateway)
			target += ' · router ' + (rt.label ? rt.label + ' at ' : '') + rep.gateway;
		if (rep.external_ip)
			target += ' · external address ' + rep.external_ip;
		if (num(rep.elapsed_ms) !== null)
			target += ' · took ' + (rep.elapsed_ms / 1000).toFixed(1) + ' s';
		const tgt = el('p', 'doctor-target muted small mono', target);

		const sum = el('p', 'doctor-summary ' + (ok ? 'verdict-ok' : 'verdict-bad'),
		    str(rep.summary, ''));
		sum.hidden = !rep.summary;

		const checks = el('ul', 'checks');
		checks.setAttribute('aria-label', 'Checks');
		/* IPv6's checks after IPv4's, when IPv6 counted for the verdict;
		 * a forward kept over IPv6 alone has IPv4's all skipped. */
		const v6 = rep.ipv6 && typeof rep.ipv6 === 'object' && rep.ipv6.counts === true ? rep.ipv6 : null;
		const v4checks = rep.ipv4_verdict === 'skipped' ? [] : (Array.isArray(rep.checks) ? rep.checks : []);
		const all = v4checks.concat(v6 && Array.isArray(v6.checks) ? v6.checks : []);
		for (const c of all) {
			if (!c || typeof c !== 'object')
				continue;
			const st = CHECK_STATUS[c.status] ? c.status : 'unknown';
			const li = el('li', 'check');
			li.dataset.check = str(c.id, '');
			li.dataset.status = st;
			li.appendChild(el('span', 'badge badge-' + st, str(CHECK_STATUS[c.status], str(c.status, '?'))));
			const body = el('div', 'check-body');
			const name = el('span', 'check-name', str(CHECK_LABELS[c.id], str(c.id, '?')));
			if (CHECK_LABELS[c.id])
				name.appendChild(el('span', 'check-id', c.id));
			body.appendChild(name);
			body.appendChild(el('p', 'check-detail', str(c.detail, '')));
			li.appendChild(body);
			checks.appendChild(li);
		}
		const when = el('p', 'muted small', 'Run ' + localDate(Date.now() / 1000, true) + '.');
		box.replaceChildren(head, tgt, sum, checks, when);
		box.hidden = false;
	}

	/* ---------------------------------------------------------------- */
	/* Events */

	function addEvents(list) {
		for (const ev of list) {
			if (!ev || typeof ev !== 'object' || typeof ev.event !== 'string')
				continue;
			const key = num(ev.seq) !== null ? 's' + ev.seq :
			    'x' + ev.time + ev.event + ev.forward + ev.detail;
			events.set(key, ev);
		}
		renderEvents();
	}

	function renderEvents() {
		const all = [...events.values()].sort((a, b) =>
		    (num(b.seq) !== null && num(a.seq) !== null ? b.seq - a.seq : (b.time || 0) - (a.time || 0)));
		/* Keep only what is shown. */
		for (const ev of all.slice(MAX_EVENTS))
			events.delete(num(ev.seq) !== null ? 's' + ev.seq : 'x' + ev.time + ev.event + ev.forward + ev.detail);
		const ol = $('events');
		ol.replaceChildren();
		for (const ev of all.slice(0, MAX_EVENTS)) {
			const li = el('li', 'event');
			li.dataset.event = ev.event;
			const t = el('time', '', localDate(ev.time, true));
			t.dateTime = isoDate(ev.time);
			const body = el('div');
			body.appendChild(el('span', 'event-name ' + (EVENT_TONE[ev.event] || ''),
			    str(EVENT_LABELS[ev.event], ev.event)));
			/* Spaces between the parts, for copying and screen readers. */
			if (ev.forward)
				body.append(' ', el('span', 'event-fwd', ev.forward));
			if (ev.detail)
				body.append(' ', el('span', 'event-detail', ev.detail));
			li.append(t, body);
			ol.appendChild(li);
		}
		$('ev-empty').hidden = all.length !== 0;
	}

	/* ---------------------------------------------------------------- */
	/* The status document, the event stream, the add form */

	function renderStatus(doc) {
		if (!doc || typeof doc !== 'object')
			return;
		renderAddresses(doc);
		renderGateway(doc);
		renderForwards(Array.isArray(doc.forwards) ? doc.forwards : []);
		if (Array.isArray(doc.events))
			addEvents(doc.events);
		$('load-error').hidden = true;
		document.body.dataset.loaded = 'true';
	}

	async function load() {
		const r = await api('GET', 'api/status');
		if (r.ok) {
			renderStatus(r.data);
		} else {
			$('load-error').textContent = 'Cannot show the status: ' + r.message;
			$('load-error').hidden = false;
		}
	}

	function setConn(state, text) {
		$('conn').dataset.state = state;
		$('conn-text').textContent = text;
	}

	let source = null;
	let retryMs = 1000;

	/*
	 * EventSource reconnects by itself after a dropped stream (and sends
	 * Last-Event-ID); after an error answer (a 401, a 5xx) it gives up, so
	 * then a new one is made, a little later each time.
	 */
	function connect() {
		if (source)
			source.close();
		source = new EventSource('api/events');
		source.addEventListener('open', () => {
			retryMs = 1000;
			setConn('live', 'Live');
		});
		source.addEventListener('error', () => {
			if (source.readyState === EventSource.CLOSED) {
				setConn('down', 'Disconnected, retrying in ' + Math.round(retryMs / 1000) + ' s');
				setTimeout(connect, retryMs);
				retryMs = Math.min(retryMs * 2, 30000);
			} else {
				setConn('reconnecting', 'Reconnecting…');
			}
		});
		source.addEventListener('status', (m) => {
			try {
				renderStatus(JSON.parse(m.data));
			} catch (err) {
				/* A broken document: keep what is shown. */
			}
		});
		const onEvent = (m) => {
			try {
				addEvents([JSON.parse(m.data)]);
			} catch (err) {
				/* Not an event of the log. */
			}
		};
		for (const t of EVENT_TYPES)
			source.addEventListener(t, onEvent);
		source.addEventListener('message', onEvent);
	}

	function fieldError(input, msg) {
		input.setAttribute('aria-invalid', 'true');
		setMsg($('add-msg'), msg, 'bad');
		input.focus();
		return false;
	}

	async function onAdd(ev) {
		ev.preventDefault();
		const form = ev.target;
		const name = $('f-name'), ext = $('f-external'), int = $('f-internal'), proto = $('f-protocol');
		for (const i of [name, ext, int])
			i.removeAttribute('aria-invalid');

		const n = name.value.trim();
		if (!NAME_RE.test(n))
			return fieldError(name, 'The name must be 1 to 63 letters, digits, “_”, “.” or “-”.');
		const port = (s) => (/^\d{1,5}$/.test(s) && +s >= 1 && +s <= 65535 ? +s : null);
		const e = port(ext.value.trim());
		if (e === null)
			return fieldError(ext, 'The external port must be a number from 1 to 65535.');
		const body = { name: n, external: e, protocol: proto.value, family: $('f-family').value };
		if (int.value.trim() !== '') {
			const i = port(int.value.trim());
			if (i === null)
				return fieldError(int, 'The internal port must be a number from 1 to 65535, or empty.');
			body.internal = i;
		}
		if (body.family === '6' && body.internal !== undefined && body.internal !== e)
			return fieldError(int, 'Over IPv6 alone the internal port must be the external one: IPv6 has no port translation.');

		const btn = $('add-submit');
		btn.disabled = true;
		btn.setAttribute('aria-busy', 'true');
		setMsg($('add-msg'), 'Adding…', null);
		const r = await api('POST', 'api/forwards', body);
		btn.disabled = false;
		btn.removeAttribute('aria-busy');
		if (r.ok) {
			form.reset();
			setMsg($('add-msg'), 'Added “' + n + '”. It becomes active when the router has answered.', 'ok');
			if (r.data && typeof r.data.name === 'string')
				upsertForward(r.data);
		} else {
			setMsg($('add-msg'), 'Not added: ' + r.message, 'bad');
		}
	}

	function start() {
		$('add-form').addEventListener('submit', onAdd);
		for (const id of ['f-name', 'f-external', 'f-internal'])
			$(id).addEventListener('input', (ev) => ev.target.removeAttribute('aria-invalid'));
		setInterval(() => {
			for (const e of forwards.values())
				tickEntry(e);
		}, 1000);
		load();
		connect();
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
}());
