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
//
// Two more ops, for spec/interop_text_spec.lua, go through node-smpp's text
// handling (its "message" filter) instead:
//   {"op":"decode_text","hex":"..."} -> {"pdu":{"command":..,"data_coding":n,
//       "esm_class":n,"short_message":{"udh":["0003..",..],"message":"..."}}}
//     PDU.fromBuffer with its decode filters; "message" is the hex of the
//     UTF-8 of the string node-smpp made, or {"octets":hex} when it left a
//     Buffer (a data_coding it has no text for); "udh" is its list of
//     information elements (IEI, length, data), absent without UDHI.
//   {"op":"encode_text","pdu":{..as for encode..},"text":"<hex of UTF-8>",
//       "udh":"<hex, UDHL first>"} -> {"hex":"..."}
//     short_message is given as the JS string (or {udh, message}); without
//     data_coding in "pdu" node-smpp picks it itself.
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

function textToWire(v) { // a decoded short_message / message_payload -> JSON
	if (Buffer.isBuffer(v)) return { octets: v.toString('hex') };
	if (typeof v === 'string') return { message: Buffer.from(v, 'utf8').toString('hex') };
	if (!v || typeof v !== 'object') return v;
	const o = {};
	if (v.udh) o.udh = v.udh.map((ie) => ie.toString('hex'));
	if (Buffer.isBuffer(v.message)) o.message = { octets: v.message.toString('hex') };
	else o.message = Buffer.from(String(v.message), 'utf8').toString('hex');
	return o;
}

function decodeText(hex) {
	const pdu = PDU.fromBuffer(Buffer.from(hex, 'hex'));
	if (!pdu) throw new Error('PDU.fromBuffer: short buffer');
	const out = { command: pdu.command };
	for (const k of ['data_coding', 'esm_class']) if (k in pdu) out[k] = pdu[k];
	for (const k of ['short_message', 'message_payload']) if (k in pdu) out[k] = textToWire(pdu[k]);
	return out;
}

function encodeText(req) {
	const opts = fromWire(req.pdu);
	const text = Buffer.from(req.text, 'hex').toString('utf8');
	opts.short_message = req.udh ? { udh: Buffer.from(req.udh, 'hex'), message: text } : text;
	return new PDU(opts.command, opts).toBuffer().toString('hex');
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
	let answer;
	try {
		const req = JSON.parse(line);
		if (req.op === 'decode') answer = { pdu: decode(req.hex) };
		else if (req.op === 'encode') answer = { hex: encode(req.pdu) };
		else if (req.op === 'decode_text') answer = { pdu: decodeText(req.hex) };
		else if (req.op === 'encode_text') answer = { hex: encodeText(req) };
		else throw new Error('unknown op ' + req.op);
	} catch (e) {
		answer = { error: String(e && e.stack || e) };
	}
	process.stdout.write(JSON.stringify(answer) + '\n');
});
