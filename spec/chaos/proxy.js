// A TCP proxy between an ESME and an SMSC on 127.0.0.1 that breaks the
// links on a schedule: the network faults a client meets in production, in
// a few seconds, the same ones again for the same seed. No npm packages.
//
//   node proxy.js LISTEN_PORT TARGET_PORT [--seed N] [--plan FILE | --auto]
//                 [--life SECONDS] [--max-faults N] [--quiet MIN-MAX] [--healed]
//
// Listens on 127.0.0.1:LISTEN_PORT (0: any free port) and prints
// "proxy: listening on 127.0.0.1:PORT" on stdout; every connection it
// accepts is carried to 127.0.0.1:TARGET_PORT. Without --plan (or with
// --auto) the faults come from a generator seeded with N (default 1): quiet
// periods (traffic flows; MIN-MAX milliseconds, default 300-2000) between
// faults drawn at random among
//
//   drop                     every link is destroyed, both sides at once
//   stall DIR MS buffer      DIR (c2s, s2c or both) stops for MS ms; what
//                            comes meanwhile is kept and goes on afterwards
//   stall DIR MS discard     DIR stops for MS ms and what comes is thrown
//                            away; at the end the link is destroyed (a black
//                            hole: the bytes of a TCP stream are never lost
//                            in the middle of it)
//   cut DIR                  the next chunk of DIR (within 3 s) goes only up
//                            to a point strictly inside one of its PDUs, then
//                            the link is destroyed: the receiver sees half a PDU
//   refuse MS accept         for MS ms every connection is accepted and
//                            destroyed at once (the links that exist are
//                            dropped first)
//   refuse MS close          for MS ms nothing listens (connections are
//                            refused by the kernel; existing links dropped)
//
// (stalls and refusals last 500-4000 ms). A plan file gives the schedule
// instead, one step per line, run once in order then quiet forever:
//
//   quiet 1500               (ms)
//   drop
//   stall c2s 2000 buffer
//   cut s2c
//   refuse 1000 close
//   # comments and empty lines are skipped
//
// SIGUSR1 heals the network at once and holds the schedule (stalls end and
// what they kept goes on; black holes and half-cut links are destroyed;
// connections are taken again), SIGUSR2 resumes it; --healed starts held,
// until the first SIGUSR2. (A driver lets a client meet faults, then gives
// it a sound network in which everything it holds must come to an end.)
//
// Every fault is one line on stderr ("proxy: drop 2 links t=4.210s", "proxy:
// stall c2s 2000ms buffer (1 links) t=6.001s", "proxy: cut s2c 37/120
// t=9.517s", ...: t, seconds since the start). The proxy exits on
// SIGTERM or SIGINT, after --max-faults faults (default: no limit) plus one
// quiet period, or after --life seconds (default 900) whatever happens,
// printing on stderr "proxy: links=N drops=N stalls=N cuts=N refusals=N
// refused=N bytes_c2s=N bytes_s2c=N" (refused: connections turned away).
'use strict';
const net = require('net');
const fs = require('fs');

function usage(msg) {
	process.stderr.write('proxy: ' + msg + '\nusage: node proxy.js LISTEN_PORT TARGET_PORT ' +
		'[--seed N] [--plan FILE | --auto] [--life SECONDS] [--max-faults N] [--quiet MIN-MAX] [--healed]\n');
	process.exit(2);
}

const argv = process.argv.slice(2);
const positional = [];
const opt = { seed: 1, plan: null, life: 900, maxFaults: Infinity, quietMin: 300, quietMax: 2000, healed: false };
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	const next = () => {
		if (i + 1 >= argv.length) usage(a + ' needs a value');
		return argv[++i];
	};
	if (a === '--seed') opt.seed = Number(next());
	else if (a === '--plan') opt.plan = next();
	else if (a === '--auto') opt.plan = null;
	else if (a === '--life') opt.life = Number(next());
	else if (a === '--max-faults') opt.maxFaults = Number(next());
	else if (a === '--healed') opt.healed = true;
	else if (a === '--quiet') {
		const m = /^(\d+)-(\d+)$/.exec(next());
		if (!m || Number(m[1]) > Number(m[2])) usage('--quiet takes MIN-MAX (milliseconds)');
		opt.quietMin = Number(m[1]);
		opt.quietMax = Number(m[2]);
	} else if (a.startsWith('--')) usage('unknown option ' + a);
	else positional.push(a);
}
if (positional.length !== 2) usage('LISTEN_PORT and TARGET_PORT are required');
const listenPort = Number(positional[0]);
const targetPort = Number(positional[1]);
if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) usage('bad LISTEN_PORT');
if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) usage('bad TARGET_PORT');
if (!Number.isFinite(opt.seed)) usage('--seed must be a number');
if (!(opt.life > 0)) usage('--life must be positive');
if (!(opt.maxFaults >= 0)) usage('--max-faults must be 0 or more');

// mulberry32: a small seeded generator (the same schedule for the same seed)
let state = (opt.seed >>> 0) || 1;
function rand() {
	state = (state + 0x6D2B79F5) >>> 0;
	let t = state;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pickOne = (list) => list[Math.floor(rand() * list.length)];

const counts = { links: 0, drops: 0, stalls: 0, cuts: 0, refusals: 0, refused: 0, bytes_c2s: 0, bytes_s2c: 0 };
const links = new Set();
const born = Date.now();
const say = (line) => process.stderr.write('proxy: ' + line + ' t=' + ((Date.now() - born) / 1000).toFixed(3) + 's\n');

// The PDU boundaries of one direction of a link: command_length read from
// the stream, so that a cut can fall strictly inside a PDU.
function framer() {
	return { left: 0, head: [] }; // left: octets of the current PDU still to come
}

// Advances framer f over chunk; with collect, returns the offsets
// (1..len-1) at which a cut falls inside a PDU (not between two).
function advance(f, chunk, collect) {
	const inside = [];
	for (let k = 0; k < chunk.length; k++) {
		if (collect && k > 0 && (f.left > 0 || f.head.length > 0)) inside.push(k);
		if (f.left > 0) {
			if (!collect) { // the body of a PDU: skipped at once
				const n = Math.min(f.left, chunk.length - k);
				f.left -= n;
				k += n - 1;
			} else {
				f.left--;
			}
			continue;
		}
		f.head.push(chunk[k]);
		if (f.head.length === 4) {
			const len = ((f.head[0] << 24) | (f.head[1] << 16) | (f.head[2] << 8) | f.head[3]) >>> 0;
			f.head = [];
			f.left = len > 4 ? len - 4 : 0;
		}
	}
	return inside;
}

// Directions a fault names.
const dirsOf = (dir) => (dir === 'both' ? ['c2s', 's2c'] : [dir]);

// A cut armed for a direction: the first link to carry a chunk that way
// until then takes it.
const cutArmedUntil = { c2s: 0, s2c: 0 };

function destroyLink(link) {
	if (link.dead) return;
	link.dead = true;
	links.delete(link);
	link.client.destroy();
	if (link.server) link.server.destroy();
}

function dropAll() {
	const n = links.size;
	for (const link of Array.from(links)) destroyLink(link);
	return n;
}

// Moves what a link holds for direction dir, unless it is stalled.
function pump(link, dir) {
	if (link.dead) return;
	const out = dir === 'c2s' ? link.server : link.client;
	const q = link.queue[dir];
	if (Date.now() < link.stall[dir].until || (dir === 'c2s' && !link.connected)) return;
	while (q.length > 0 && !link.dead) {
		const chunk = q.shift();
		if (Date.now() < cutArmedUntil[dir]) {
			const inside = advance(link.frame[dir], chunk, true);
			if (inside.length > 0) {
				cutArmedUntil[dir] = 0;
				const k = pickOne(inside);
				counts.cuts++;
				counts['bytes_' + dir] += k;
				say('cut ' + dir + ' ' + k + '/' + chunk.length);
				// the rest never goes; the link ends once the part is written
				q.length = 0;
				link.cutting = true;
				out.write(chunk.subarray(0, k), () => destroyLink(link));
				timer(() => destroyLink(link), 100);
				return;
			}
		} else {
			advance(link.frame[dir], chunk, false);
		}
		counts['bytes_' + dir] += chunk.length;
		out.write(chunk);
	}
}

function onData(link, dir, chunk) {
	if (link.dead || link.cutting) return;
	const st = link.stall[dir];
	if (Date.now() < st.until && st.discard) return; // into the black hole
	link.queue[dir].push(chunk);
	pump(link, dir);
}

let refusing = null; // 'accept' while connections are accepted and destroyed

const server = net.createServer({ pauseOnConnect: false }, (client) => {
	if (refusing === 'accept') {
		counts.refused++;
		client.destroy();
		return;
	}
	counts.links++;
	const link = { client, server: null, connected: false, dead: false, cutting: false,
		queue: { c2s: [], s2c: [] }, frame: { c2s: framer(), s2c: framer() },
		stall: { c2s: { until: 0, discard: false }, s2c: { until: 0, discard: false } } };
	links.add(link);
	client.setNoDelay(true);
	const up = net.connect({ host: '127.0.0.1', port: targetPort }, () => {
		link.connected = true;
		pump(link, 'c2s');
	});
	up.setNoDelay(true);
	link.server = up;
	client.on('data', (chunk) => onData(link, 'c2s', chunk));
	up.on('data', (chunk) => onData(link, 's2c', chunk));
	for (const s of [client, up]) {
		s.on('error', () => destroyLink(link));
		s.on('close', () => destroyLink(link));
		s.on('end', () => destroyLink(link));
	}
});
server.on('error', (e) => {
	say('listen error: ' + e.message);
	finish(1);
});

let port = listenPort;
function listen(cb) {
	server.listen(port, '127.0.0.1', () => {
		port = server.address().port;
		if (cb) cb();
	});
}

// ---- the faults ---------------------------------------------------------

// A stall holds the links there are now (one made meanwhile goes freely).
function doStall(dir, ms, mode) {
	counts.stalls++;
	const until = Date.now() + ms;
	const stalled = Array.from(links);
	for (const link of stalled) {
		for (const d of dirsOf(dir)) link.stall[d] = { until, discard: mode === 'discard' };
	}
	say('stall ' + dir + ' ' + ms + 'ms ' + mode + ' (' + stalled.length + ' links)');
	timer(() => {
		for (const link of stalled) {
			if (mode === 'discard') { // a black hole ends with the link
				destroyLink(link);
				continue;
			}
			for (const d of dirsOf(dir)) {
				link.stall[d] = { until: 0, discard: false };
				pump(link, d);
			}
		}
	}, ms + 1);
}

function doCut(dir) {
	cutArmedUntil[dir] = Date.now() + 3000;
	timer(() => {
		if (cutArmedUntil[dir] !== 0) {
			cutArmedUntil[dir] = 0;
			say('cut ' + dir + ' missed (no traffic in 3000ms)');
		}
	}, 3001);
}

function doRefuse(ms, mode, done) {
	counts.refusals++;
	const n = dropAll();
	say('refuse ' + ms + 'ms ' + mode + ' (dropped ' + n + ' links)');
	if (mode === 'accept') {
		refusing = 'accept';
		timer(() => { refusing = null; done(); }, ms);
	} else {
		server.close();
		timer(() => listen(done), ms);
	}
}

// ---- the schedule ---------------------------------------------------------

// The next step of the generated schedule.
function autoStep(n) {
	if (n % 2 === 0) return { op: 'quiet', ms: between(opt.quietMin, opt.quietMax) };
	const r = rand();
	const dir = pickOne(['c2s', 's2c', 'both']);
	if (r < 0.25) return { op: 'drop' };
	if (r < 0.45) return { op: 'stall', dir, ms: between(500, 4000), mode: 'buffer' };
	if (r < 0.55) return { op: 'stall', dir, ms: between(500, 4000), mode: 'discard' };
	if (r < 0.80) return { op: 'cut', dir: pickOne(['c2s', 's2c']) };
	return { op: 'refuse', ms: between(500, 4000), mode: pickOne(['accept', 'close']) };
}

function parsePlan(file) {
	const steps = [];
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	lines.forEach((raw, i) => {
		const line = raw.replace(/#.*/, '').trim();
		if (line === '') return;
		const w = line.split(/\s+/);
		const bad = () => usage(file + ':' + (i + 1) + ': cannot read "' + line + '"');
		const ms = (s) => {
			const v = Number(s);
			if (!Number.isInteger(v) || v < 0 || v > 600000) bad();
			return v;
		};
		if (w[0] === 'quiet' && w.length === 2) steps.push({ op: 'quiet', ms: ms(w[1]) });
		else if (w[0] === 'drop' && w.length === 1) steps.push({ op: 'drop' });
		else if (w[0] === 'stall' && (w.length === 3 || w.length === 4) && ['c2s', 's2c', 'both'].includes(w[1]) &&
			(w[3] === undefined || w[3] === 'buffer' || w[3] === 'discard')) {
			steps.push({ op: 'stall', dir: w[1], ms: ms(w[2]), mode: w[3] || 'buffer' });
		} else if (w[0] === 'cut' && w.length === 2 && ['c2s', 's2c'].includes(w[1])) {
			steps.push({ op: 'cut', dir: w[1] });
		} else if (w[0] === 'refuse' && (w.length === 2 || w.length === 3) &&
			(w[2] === undefined || w[2] === 'accept' || w[2] === 'close')) {
			steps.push({ op: 'refuse', ms: ms(w[1]), mode: w[2] || 'accept' });
		} else bad();
	});
	return steps;
}

const timers = new Set();
function timer(fn, ms) {
	const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
	timers.add(t);
	return t;
}

const plan = opt.plan ? parsePlan(opt.plan) : null;
let stepNo = 0, faults = 0, stopping = false;
let healed = opt.healed, gen = 0; // gen: the schedule's generation (a heal ends it)

function run() {
	if (stopping || healed) return;
	const g = gen;
	let step;
	if (plan) {
		if (stepNo >= plan.length) return; // the plan is over: quiet until the end
		step = plan[stepNo];
	} else {
		if (faults >= opt.maxFaults) {
			// one more quiet period, then the end
			timer(() => finish(0), between(opt.quietMin, opt.quietMax));
			return;
		}
		step = autoStep(stepNo);
	}
	stepNo++;
	const next = () => { if (g === gen) run(); };
	switch (step.op) {
	case 'quiet':
		timer(next, step.ms);
		return;
	case 'drop':
		faults++;
		counts.drops++;
		say('drop ' + dropAll() + ' links');
		return setImmediate(next);
	case 'stall':
		faults++;
		doStall(step.dir, step.ms, step.mode);
		timer(next, step.ms + 2);
		return;
	case 'cut':
		faults++;
		doCut(step.dir);
		return setImmediate(next);
	case 'refuse':
		faults++;
		doRefuse(step.ms, step.mode, next);
		return;
	}
}

// SIGUSR1: the network heals at once (stalls end, what they kept goes on,
// black holes and half-cut links are destroyed, connections are taken
// again) and no fault comes until SIGUSR2 resumes the schedule.
function heal() {
	if (healed || stopping) return;
	healed = true;
	gen++;
	for (const t of timers) clearTimeout(t);
	timers.clear();
	cutArmedUntil.c2s = 0;
	cutArmedUntil.s2c = 0;
	refusing = null;
	for (const link of Array.from(links)) {
		if (link.cutting || link.stall.c2s.discard || link.stall.s2c.discard) {
			destroyLink(link);
			continue;
		}
		for (const d of ['c2s', 's2c']) {
			link.stall[d] = { until: 0, discard: false };
			pump(link, d);
		}
	}
	say('heal');
	if (!server.listening) listen();
}

function resume() {
	if (!healed || stopping) return;
	healed = false;
	say('resume');
	run();
}

function finish(code) {
	if (stopping) return;
	stopping = true;
	for (const t of timers) clearTimeout(t);
	dropAll();
	try { server.close(); } catch (e) { /* not listening */ }
	const line = 'proxy: ' + Object.keys(counts).map((k) => k + '=' + counts[k]).join(' ') + '\n';
	process.stderr.write(line, () => process.exit(code));
}

process.on('SIGTERM', () => finish(0));
process.on('SIGINT', () => finish(0));
process.on('SIGUSR1', heal);
process.on('SIGUSR2', resume);
setTimeout(() => { say('life of ' + opt.life + 's over'); finish(0); }, opt.life * 1000).unref();

listen(() => {
	process.stdout.write('proxy: listening on 127.0.0.1:' + port + '\n');
	run();
});
