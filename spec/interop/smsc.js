// A node-smpp (npm "smpp" 0.5.1) SMSC: the peer of our client in
// spec/interop_client_spec.lua and the baseline server of the benchmarks.
//
//   node smsc.js [SYSTEM_ID:PASSWORD]
//
// listens on 127.0.0.1 (any free port) and prints "node-server: listening on
// 127.0.0.1:PORT". Accepts the three binds (every account, or only the one
// given: a wrong password gets 0x0E, an unknown system_id 0x0F), answers every
// submit_sm with a submit_sm_resp carrying a fresh message id (hex), answers
// enquire_link, and answers unbind then closes the session. A submit_sm with
// registered_delivery gets a delivery receipt (deliver_sm, esm_class 0x04,
// appendix B text, receipted_message_id and message_state TLVs) on the same
// session; one whose text starts with "echo " comes back as an MO deliver_sm
// with the rest of the text, addresses swapped. Runs until SIGTERM or SIGINT,
// then prints "node-server: submits=N receipts=N mos=N acked=N" and exits 0
// (acked: deliver_sm answered with status 0).
//
// With MAX_BINDS=N in the environment it is as strict as a real SMSC about
// the account's binds: a bind counts from its bind_resp until its TCP
// connection closes (an unbind alone does not free it), and a bind past N
// is refused with 0x0D (ESME_RBINDFAIL), counted as refused=N in the last
// line. With TLS_CERT=FILE and TLS_KEY=FILE it listens with TLS instead.
//
// A deliver_sm that is not answered with status 0 (answered with an error,
// or its session closed first) is delivered again, as a real SMSC does: to
// another receiver or transceiver of the account bound then, else to the
// next one that binds (counted as redelivered=N in the last line).
//
// With RECEIPT_DELAY_MS=N in the environment, a receipt goes N ms after its
// submit, as a real SMSC's does: on the submitting session if it is still
// bound and can receive, else on any receiver or transceiver of the account
// bound then, else when one binds (queued meanwhile).
//
// With SMSC_RECORD=FILE in the environment, every submit_sm answered with
// status 0 is also appended to FILE as one line, "MESSAGE_ID<TAB>TEXT\n",
// written (synchronously) when the answer is made, whether or not it reaches
// the ESME: what this SMSC took, for spec/chaos/soak.lua to compare with
// what the client reported. TEXT is short_message as node-smpp decodes it,
// with backslash, tab, CR and LF written \\, \t, \r and \n. node-smpp
// reads a PDU cut short by the end of its connection (fewer octets than its
// command_length) as a whole one, and answers it too: such a submit's line
// ends "<TAB>truncated" (its text is cut short as well).
'use strict';
const fs = require('fs');
const path = require('path');
const smpp = require(path.join(__dirname, 'node_modules', 'smpp'));

const record = process.env.SMSC_RECORD ? fs.openSync(process.env.SMSC_RECORD, 'a') : null;
const ESCAPES = { '\\': '\\\\', '\t': '\\t', '\r': '\\r', '\n': '\\n' };
if (record !== null) {
	// a PDU read with fewer octets than its command_length is marked (read as before)
	const fromStream = smpp.PDU.fromStream;
	smpp.PDU.fromStream = function (stream, commandLength) {
		const have = stream.readableLength;
		const pdu = fromStream.call(this, stream, commandLength);
		if (pdu && have < commandLength - 4) pdu.truncated = true;
		return pdu;
	};
}

const account = process.argv[2] ? process.argv[2].split(':') : null;
const receiptDelay = process.env.RECEIPT_DELAY_MS ? Number(process.env.RECEIPT_DELAY_MS) : null;
let submits = 0, receipts = 0, mos = 0, acked = 0, nextId = 1;
const maxBinds = process.env.MAX_BINDS ? Number(process.env.MAX_BINDS) : null;
let refused = 0;
const bound = new Set();     // bound sessions, until their connection closes
const receivers = new Set(); // bound sessions that take deliver_sm
const waiting = [];          // deliver_sm for when a receiver binds
let redelivered = 0;

// Sends a deliver_sm on session (or another receiver, or keeps it): acked
// when answered 0; sent again otherwise, or when the session closes first.
function deliver(session, pdu) {
	const to = session && receivers.has(session) ? session : receivers.values().next().value;
	if (!to) return waiting.push(pdu);
	to.pending = to.pending || new Set();
	to.pending.add(pdu);
	to.deliver_sm(Object.assign({}, pdu), (resp) => {
		if (!to.pending.delete(pdu)) return;
		if (resp.command_status === 0) {
			acked++;
		} else {
			redelivered++;
			setTimeout(() => deliver(null, pdu), 100);
		}
	});
}

function deliverLater(from, receipt) {
	setTimeout(() => deliver(from, receipt), receiptDelay);
}

function stamp(d) {
	const p = (n) => String(n).padStart(2, '0');
	return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
		p(d.getUTCHours()) + p(d.getUTCMinutes());
}

const tlsOptions = process.env.TLS_CERT ?
	{ cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) } : {};
const server = smpp.createServer(tlsOptions, (session) => {
	const bind = (pdu) => {
		if (account && pdu.system_id !== account[0]) {
			return session.send(pdu.response({ command_status: smpp.ESME_RINVSYSID }));
		}
		if (account && pdu.password !== account[1]) {
			return session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
		}
		if (maxBinds !== null && !bound.has(session) && bound.size >= maxBinds) {
			refused++;
			return session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
		}
		session.send(pdu.response({ system_id: 'node-smsc' }));
		bound.add(session);
		if (pdu.command !== 'bind_transmitter') {
			receivers.add(session);
			while (waiting.length > 0) deliver(session, waiting.shift());
		}
	};
	session.on('close', () => {
		receivers.delete(session);
		bound.delete(session);
		for (const pdu of session.pending || []) {
			redelivered++;
			deliver(null, pdu);
		}
		session.pending = null;
	});
	session.on('bind_transceiver', bind);
	session.on('bind_transmitter', bind);
	session.on('bind_receiver', bind);
	session.on('submit_sm', (pdu) => {
		submits++;
		const id = (nextId++).toString(16);
		session.send(pdu.response({ message_id: id }));
		const sm = pdu.short_message;
		const text = sm && sm.message !== undefined ? sm.message : String(sm || '');
		if (record !== null) {
			fs.writeSync(record, id + '\t' + String(text).replace(/[\\\t\r\n]/g, (c) => ESCAPES[c]) +
				(pdu.truncated ? '\ttruncated\n' : '\n'));
		}
		if (pdu.registered_delivery & 1) {
			receipts++;
			const now = stamp(new Date());
			const receipt = {
				source_addr: pdu.destination_addr, destination_addr: pdu.source_addr, esm_class: 4,
				short_message: 'id:' + id + ' sub:001 dlvrd:001 submit date:' + now + ' done date:' + now +
					' stat:DELIVRD err:000 text:' + text.slice(0, 20),
				receipted_message_id: id, message_state: 2,
			};
			if (receiptDelay === null) deliver(session, receipt); else deliverLater(session, receipt);
		}
		if (text.startsWith('echo ')) {
			mos++;
			deliver(session, { source_addr: pdu.destination_addr, destination_addr: pdu.source_addr,
				short_message: text.slice(5) });
		}
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
	process.stdout.write('node-server: submits=' + submits + ' receipts=' + receipts + ' mos=' + mos +
		' acked=' + acked + ' refused=' + refused + ' redelivered=' + redelivered + '\n', () => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
