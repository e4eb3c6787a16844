// node-smpp as a PDU codec on stdin/stdout, for spec/interop_codec_spec.lua.
//
// One JSON request a line in, one JSON answer a line out:
//   {"op":"decode","hex":"0000001080000015..."} -> {"pdu":{...}}
//   {"op":"encode","pdu":{"command":"enquire_link",...}} -> {"hex":"..."}
//   anything that throws -> {"error":"..."}
//
// In a "pdu" every string value is the hex of its octets (except "command"),
// whether node-smpp holds it as a string (C-Octet Strings) or as a Buffer
// (short_message, octet TLVs), so that no octet is lost on the way. Numbers
// are numbers; dest_address and unsuccess_sme are arrays of objects.
//
// decode reports the values as node-smpp reads them off the wire, before its
// "decode" filters, which turn times into Date objects and short_message /
// message_payload into text by data_coding: a presentation layer that has no
// counterpart in the Lua codec. Unknown TLVs come as node-smpp keeps them:
// under their tag in decimal ("5120": hex).
'use strict';
const readline = require('readline');
const { PDU } = require('smpp');

function toWire(v, key) { // node-smpp values -> JSON
	if (Buffer.isBuffer(v)) return v.toString('hex');
	if (typeof v === 'string') return key === 'command' ? v : Buffer.from(v, 'latin1').toString('hex');
	if (Array.isArray(v)) return v.map((e) => toWire(e));
	if (v && typeof v === 'object') {
		const o = {};
		for (const k of Object.keys(v)) o[k] = toWire(v[k], k);
		return o;
	}
	return v;
}

function fromWire(v, key) { // JSON -> node-smpp options (strings as Buffers)
	if (typeof v === 'string') return key === 'command' ? v : Buffer.from(v, 'hex');
	if (Array.isArray(v)) return v.map((e) => fromWire(e));
	if (v && typeof v === 'object') {
		const o = {};
		for (const k of Object.keys(v)) o[k] = fromWire(v[k], k);
		return o;
	}
	return v;
}

function decode(hex) {
	const pdu = Object.create(PDU.prototype);
	pdu._filter = function () {}; // raw wire values, see above
	pdu.fromBuffer(Buffer.from(hex, 'hex'));
	const out = {};
	for (const k of Object.keys(pdu)) if (k !== '_filter') out[k] = pdu[k];
	return toWire(out);
}

function encode(fields) {
	const opts = fromWire(fields);
	return new PDU(opts.command, opts).toBuffer().toString('hex');
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
	let answer;
	try {
		const req = JSON.parse(line);
		if (req.op === 'decode') answer = { pdu: decode(req.hex) };
		else if (req.op === 'encode') answer = { hex: encode(req.pdu) };
		else throw new Error('unknown op ' + req.op);
	} catch (e) {
		answer = { error: String(e && e.stack || e) };
	}
	process.stdout.write(JSON.stringify(answer) + '\n');
});
