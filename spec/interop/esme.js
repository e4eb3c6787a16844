// node-smpp's client (npm "smpp" 0.5.1) as an ESME against bin/smpp-sim, for
// spec/interop_sim_spec.lua.
//
//   node esme.js PORT 'STEPS'
//
// connects to smpp://127.0.0.1:PORT with smpp.connect and runs STEPS, a JSON
// array of steps, in order, on that one connection. Each step prints one JSON
// line, then the run ends with an "end" line:
//
//   {"op":"bind","command":"bind_receiver","system_id":"test","password":"test"}
//     -> {"op":"bind","command":"bind_receiver_resp","command_status":n,
//         "system_id":"..","sc_interface_version":n}
//        (command defaults to bind_transceiver, interface_version to 0x34)
//   {"op":"submit", ..submit_sm fields..}
//     -> {"op":"submit","command":"submit_sm_resp","command_status":n,"message_id":".."}
//        short_message is given as text; node-smpp picks data_coding for it
//   {"op":"deliver","timeout_ms":n}
//     -> {"op":"deliver","esm_class":n,"data_coding":n,"short_message":"..",
//         "source_addr":"..","destination_addr":"..","receipted_message_id":"..",
//         "message_state":n,"answered":true}
//        the next deliver_sm of the SMSC (one received earlier included);
//        every deliver_sm is answered with deliver_sm_resp (status 0) when it
//        arrives, "answered" says the answer was written to the socket
//   {"op":"wait","ms":n} -> {"op":"wait","delivers":n}
//        waits, then tells how many deliver_sm are waiting to be claimed
//   {"op":"bulk","count":n,"window":w, ..submit_sm fields..}
//     -> {"op":"bulk","sent":n,"responses":n,"statuses":{"0":n,..},
//         "distinct_ids":n,"max_outstanding":n,"elapsed_ms":x,"rate":x}
//        n submit_sm with at most w of them waiting for their response;
//        elapsed_ms runs from the first submit to the last response
//   {"op":"unbind"} -> {"op":"unbind","command":"unbind_resp","command_status":n}
//
//   end: {"op":"end","unclaimed_delivers":n,"unexpected":[..],"closed_by_peer":bool}
//     unexpected lists the PDUs of the SMSC nobody asked for (generic_nack,
//     responses to nothing, other requests) and socket errors.
//
// A step that gets no answer in time (timeout_ms, default 5000; bulk:
// 120000), or no connection in 5 s, prints {"op":"error",..} and the script
// exits 1.
'use strict';
const smpp = require('smpp');

const port = Number(process.argv[2]);
const steps = JSON.parse(process.argv[3] || '[]');
if (!port || !Array.isArray(steps)) {
	process.stderr.write('usage: node esme.js PORT \'[{"op":"bind",..},..]\'\n');
	process.exit(2);
}

function print(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

function fail(step, message) {
	print({ op: 'error', step: step.op, message: message });
	process.stdout.write('', () => process.exit(1));
}

const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port });
const delivers = [];     // deliver_sm received, not claimed yet
let deliverWaiter = null; // a "deliver" step waiting for one
const unexpected = [];
let closedByPeer = false;
let closing = false;

function text(sm) { // node-smpp's decoded short_message: {message, udh} or a Buffer
	if (sm && typeof sm === 'object' && !Buffer.isBuffer(sm)) sm = sm.message;
	if (Buffer.isBuffer(sm)) return { octets: sm.toString('hex') };
	return sm;
}

session.on('deliver_sm', (pdu) => {
	const d = {
		op: 'deliver', esm_class: pdu.esm_class, data_coding: pdu.data_coding,
		short_message: text(pdu.short_message), source_addr: pdu.source_addr,
		destination_addr: pdu.destination_addr, receipted_message_id: pdu.receipted_message_id,
		message_state: pdu.message_state, answered: false,
	};
	session.send(pdu.response(), () => {
		d.answered = true;
		if (d.onAnswered) d.onAnswered();
	});
	delivers.push(d);
	if (deliverWaiter) deliverWaiter();
});

session.on('enquire_link', (pdu) => session.send(pdu.response()));

session.on('pdu', (pdu) => {
	const known = ['deliver_sm', 'enquire_link'];
	if (known.includes(pdu.command)) return;
	if (pdu.isResponse() && session._callbacks[pdu.sequence_number]) return;
	unexpected.push({ command: pdu.command, command_status: pdu.command_status,
		sequence_number: pdu.sequence_number });
});

session.on('error', (e) => unexpected.push({ error: String(e && e.message || e) }));
session.on('close', () => { if (!closing) closedByPeer = true; });

// Sends a request, calls back with its response or fails the step.
function request(step, command, fields, done) {
	const timer = setTimeout(() => fail(step, 'no ' + command + '_resp in time'), step.timeout_ms || 5000);
	const sent = session[command](fields, (resp) => {
		clearTimeout(timer);
		done(resp);
	});
	if (!sent) {
		clearTimeout(timer);
		fail(step, 'socket not writable for ' + command);
	}
}

function submitFields(step) {
	const f = {};
	for (const k of Object.keys(step)) if (!['op', 'count', 'window', 'timeout_ms'].includes(k)) f[k] = step[k];
	return f;
}

const run = {
	bind(step, next) {
		const command = step.command || 'bind_transceiver';
		request(step, command, {
			system_id: step.system_id, password: step.password,
			interface_version: step.interface_version || 0x34,
		}, (resp) => {
			print({ op: 'bind', command: resp.command, command_status: resp.command_status,
				system_id: resp.system_id, sc_interface_version: resp.sc_interface_version });
			next();
		});
	},
	submit(step, next) {
		request(step, 'submit_sm', submitFields(step), (resp) => {
			print({ op: 'submit', command: resp.command, command_status: resp.command_status,
				message_id: resp.message_id });
			next();
		});
	},
	deliver(step, next) {
		const timer = setTimeout(() => fail(step, 'no deliver_sm in time'), step.timeout_ms || 5000);
		const take = () => {
			deliverWaiter = null;
			clearTimeout(timer);
			const d = delivers.shift();
			const out = () => {
				const o = Object.assign({}, d);
				delete o.onAnswered;
				print(o);
				next();
			};
			if (d.answered) out(); else d.onAnswered = out;
		};
		if (delivers.length) take(); else deliverWaiter = take;
	},
	wait(step, next) {
		setTimeout(() => {
			print({ op: 'wait', delivers: delivers.length });
			next();
		}, step.ms || 0);
	},
	bulk(step, next) {
		const count = step.count, window = step.window || 1;
		const fields = submitFields(step);
		const statuses = {}, ids = new Set();
		let sent = 0, responses = 0, outstanding = 0, maxOutstanding = 0;
		const started = process.hrtime.bigint();
		const timer = setTimeout(() => fail(step, 'bulk: ' + responses + ' responses of ' + count +
			' in time (' + outstanding + ' outstanding)'), step.timeout_ms || 120000);
		const pump = () => {
			while (outstanding < window && sent < count) {
				sent++;
				outstanding++;
				if (outstanding > maxOutstanding) maxOutstanding = outstanding;
				const ok = session.submit_sm(Object.assign({}, fields), (resp) => {
					outstanding--;
					responses++;
					statuses[resp.command_status] = (statuses[resp.command_status] || 0) + 1;
					if (resp.command_status === 0) ids.add(resp.message_id);
					if (responses === count) {
						clearTimeout(timer);
						const ms = Number(process.hrtime.bigint() - started) / 1e6;
						print({ op: 'bulk', sent: sent, responses: responses, statuses: statuses,
							distinct_ids: ids.size, max_outstanding: maxOutstanding,
							elapsed_ms: Math.round(ms), rate: Math.round(count / (ms / 1000)) });
						next();
					} else {
						pump();
					}
				});
				if (!ok) {
					clearTimeout(timer);
					return fail(step, 'bulk: socket not writable after ' + sent + ' submits');
				}
			}
		};
		pump();
	},
	unbind(step, next) {
		request(step, 'unbind', {}, (resp) => {
			print({ op: 'unbind', command: resp.command, command_status: resp.command_status });
			next();
		});
	},
};

function finish() {
	closing = true;
	print({ op: 'end', unclaimed_delivers: delivers.length, unexpected: unexpected,
		closed_by_peer: closedByPeer });
	session.destroy();
	process.stdout.write('', () => process.exit(0));
}

let at = 0;
function next() {
	if (at >= steps.length) return finish();
	const step = steps[at++];
	if (!run[step.op]) return fail(step, 'unknown op ' + step.op);
	run[step.op](step, next);
}

const connectTimer = setTimeout(() => fail({ op: 'connect' }, 'not connected in 5 s'), 5000);
session.on('connect', () => {
	clearTimeout(connectTimer);
	next();
});
session.once('error', (e) => { if (at === 0) fail({ op: 'connect' }, String(e.message || e)); });
