// A minimal node-smpp (npm "smpp" 0.5.1) SMSC, the baseline for
// bench/sim_bench.sh.
//
//   node server.js
//
// listens on 127.0.0.1 (any free port) and prints "node-server: listening on
// 127.0.0.1:PORT". Accepts every bind (transceiver, transmitter, receiver),
// answers every submit_sm with a submit_sm_resp carrying a fresh message id,
// answers enquire_link, and answers unbind then closes the session. Runs until
// SIGTERM or SIGINT, then prints "node-server: submits=N" and exits 0.
'use strict';
const path = require('path');
const smpp = require(path.join(__dirname, '..', '..', 'spec', 'interop', 'node_modules', 'smpp'));

let submits = 0, nextId = 1;

const server = smpp.createServer((session) => {
	const bind = (pdu) => session.send(pdu.response({ system_id: 'node-bench' }));
	session.on('bind_transceiver', bind);
	session.on('bind_transmitter', bind);
	session.on('bind_receiver', bind);
	session.on('submit_sm', (pdu) => {
		submits++;
		session.send(pdu.response({ message_id: (nextId++).toString(16) }));
	});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => {
		session.send(pdu.response());
		session.close();
	});
	session.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
	process.stdout.write('node-server: listening on 127.0.0.1:' + server.address().port + '\n');
});

const stop = () => {
	process.stdout.write('node-server: submits=' + submits + '\n', () => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
