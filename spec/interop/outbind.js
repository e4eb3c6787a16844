// node-smpp (npm "smpp" 0.5.1) as an SMSC that calls the ESME: outbind
// (SMPP 3.4 2.2.1), for spec/interop_client_spec.lua.
//
//   node outbind.js PORT SYSTEM_ID PASSWORD
//
// connects to 127.0.0.1:PORT, sends outbind with SYSTEM_ID and PASSWORD,
// waits for the ESME's bind_receiver and answers it (status 0, system_id
// "node-smsc"), then sends an MO deliver_sm and a delivery receipt for
// message id "1f", and waits for both answers. Prints one JSON line per
// PDU it receives ({"command":..,"command_status":..,"system_id":..}) and,
// after both deliver_sm_resp or 10 s, {"done":true} and unbinds.
'use strict';
const path = require('path');
const smpp = require(path.join(__dirname, 'node_modules', 'smpp'));

const [port, systemId, password] = process.argv.slice(2);
const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port, auto_enquire_link_period: 0 });
let answers = 0;
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const finish = () => {
	print({ done: true, answers });
	session.unbind(() => session.close());
	setTimeout(() => process.exit(0), 500);
};
const timer = setTimeout(finish, 10000);

session.on('connect', () => session.outbind({ system_id: systemId, password: password }));
session.on('pdu', (pdu) => print({ command: pdu.command, command_status: pdu.command_status,
	system_id: pdu.system_id }));
session.on('bind_receiver', (pdu) => {
	session.send(pdu.response({ system_id: 'node-smsc' }));
	session.deliver_sm({ source_addr: '447700900123', destination_addr: '12345',
		short_message: 'hello from node' }, () => { if (++answers === 2) { clearTimeout(timer); finish(); } });
	session.deliver_sm({ esm_class: 4, source_addr: '12345', destination_addr: '447700900123',
		short_message: 'id:1f sub:001 dlvrd:001 submit date:2612030900 done date:2612030901 stat:DELIVRD err:000 text:x' },
		() => { if (++answers === 2) { clearTimeout(timer); finish(); } });
});
session.on('enquire_link', (pdu) => session.send(pdu.response()));
session.on('error', (e) => { print({ error: String(e && e.message || e) }); process.exit(1); });
