// A node-smpp (npm "smpp" 0.5.1) ESME load generator for bench/sim_bench.sh.
//
//   node client.js PORT COUNT WINDOW [receipts]
//
// connects to 127.0.0.1:PORT, binds as transceiver test/test, sends COUNT
// submit_sm (13-octet short_message, registered_delivery 0) with at most
// WINDOW waiting for their response, then unbinds. Prints one line:
//
//   client count=N ok=N elapsed_ms=X msgs_per_s=R
//
// elapsed_ms runs from the first submit to the last submit_sm_resp (wall
// time). Exits 1 on any failure (no connection, refused bind, a submit_sm_resp
// with a non-zero status, a timeout of 60 s, the peer closing early).
'use strict';
const path = require('path');
const smpp = require(path.join(__dirname, '..', '..', 'spec', 'interop', 'node_modules', 'smpp'));

const port = Number(process.argv[2]);
const count = Number(process.argv[3] || 50000);
const window = Number(process.argv[4] || 100);
const receipts = process.argv[5] === 'receipts'; // ask for a receipt each, wait for them all
let got = 0, cpuStart = null, finished = null;
if (!port || !(count > 0) || !(window > 0)) {
	process.stderr.write('usage: node client.js PORT COUNT WINDOW\n');
	process.exit(2);
}

let done = false;
function fail(message) {
	if (done) return;
	done = true;
	process.stderr.write('client: ' + message + '\n', () => process.exit(1));
}
const watchdog = setTimeout(() => fail('timed out'), 60000);

const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port });
session.on('error', (e) => fail('socket error: ' + (e && e.message || e)));
session.on('close', () => fail('connection closed by the peer'));
session.on('enquire_link', (pdu) => session.send(pdu.response()));
session.on('deliver_sm', (pdu) => {
	session.send(pdu.response());
	if (pdu.esm_class & 4) {
		got++;
		if (finished && got === count) finished();
	}
});

const fields = {
	source_addr: '12345', destination_addr: '4915112345678',
	short_message: 'Hello, bench!', // 13 octets
	registered_delivery: receipts ? 1 : 0,
};

session.on('connect', () => {
	session.bind_transceiver({ system_id: 'test', password: 'test', interface_version: 0x34 }, (resp) => {
		if (resp.command_status !== 0) return fail('bind refused, status ' + resp.command_status);
		bulk();
	});
});

function bulk() {
	let sent = 0, responses = 0, ok = 0, outstanding = 0;
	const started = process.hrtime.bigint();
	cpuStart = process.cpuUsage();
	const pump = () => {
		while (outstanding < window && sent < count) {
			sent++;
			outstanding++;
			const written = session.submit_sm(Object.assign({}, fields), (resp) => {
				outstanding--;
				responses++;
				if (resp.command_status === 0) ok++;
				if (responses === count) finish(started, ok);
				else pump();
			});
			if (!written) return fail('socket not writable after ' + sent + ' submits');
		}
	};
	pump();
}

function finish(started, ok) {
	if (receipts && got < count) {
		finished = () => finish(started, ok);
		return;
	}
	finished = null;
	const ms = Number(process.hrtime.bigint() - started) / 1e6;
	const cpu = process.cpuUsage(cpuStart);
	if (ok !== count) return fail(ok + ' of ' + count + ' submit_sm_resp had status 0');
	session.unbind({}, () => {
		if (done) return;
		done = true;
		clearTimeout(watchdog);
		session.removeAllListeners('close');
		session.on('close', () => {});
		session.destroy();
		process.stdout.write('client count=' + count + ' ok=' + ok + ' elapsed_ms=' + ms.toFixed(1) +
			' msgs_per_s=' + Math.round(count / (ms / 1000)) + ' receipts=' + got +
			' cpu_us_per_msg=' + ((cpu.user + cpu.system) / count).toFixed(2) + '\n', () => process.exit(0));
	});
}
