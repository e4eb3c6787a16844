#!/bin/sh
# Writes the seed corpus fuzz/seeds/*.bin: valid SMPP 3.4 PDUs, written here as
# hex from the 3.4 specification (section 4). command_length is computed.
# Usage: sh fuzz/gen_seeds.sh [outdir]   (default: the seeds/ next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/seeds}
mkdir -p "$out"

# pdu NAME COMMAND_ID STATUS SEQ BODY_HEX
pdu() {
    body=$(printf '%s' "$5" | tr -d ' \n')
    len=$(( ${#body} / 2 + 16 ))
    printf '%08x%s%s%s%s' "$len" "$2" "$3" "$4" "$body" | xxd -r -p > "$out/$1.bin"
}
# hex of a C-Octet String with its NUL
cs() { printf '%s' "$1" | xxd -p | tr -d '\n'; printf '00'; }

# submit_sm: service_type "", 1/1 "12345", 1/1 "67890", esm 0, pid 0, prio 0,
# no schedule, relative validity, registered_delivery 1, sm "hello"
pdu submit_sm 00000004 00000000 00000001 \
  "00 0101 $(cs 12345) 0101 $(cs 67890) 00 00 00 00 $(cs 000001000000000R) 01 00 00 00 05 $(printf hello | xxd -p)"
# submit_sm, UCS2, schedule absolute, sar TLVs + message_payload (named, in order)
pdu submit_sm_tlvs 00000004 00000000 00000002 \
  "$(cs CMT) 0501 $(cs Shop) 0101 $(cs 447700900123) 40 00 01 $(cs 240101120000004+) 00 00 00 08 00 00
   020C 0002 1234 020E 0001 02 020F 0001 01 0424 0004 00480069"
# deliver_sm delivery receipt with receipted_message_id, message_state, network_error_code
rcpt="id:abc123 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:hello"
rlen=$(printf '%02x' ${#rcpt})
pdu deliver_sm_receipt 00000005 00000000 00000007 \
  "00 0101 $(cs 67890) 0101 $(cs 12345) 04 00 00 00 00 00 00 00 00 $rlen $(printf '%s' "$rcpt" | xxd -p | tr -d '\n')
   001E 0007 $(cs abc123) 0427 0001 02 0423 0003 030000"
# deliver_sm with TLVs out of the canonical order and an unknown (vendor) TLV
pdu deliver_sm_order 00000005 00000000 00000008 \
  "00 0101 $(cs 1) 0101 $(cs 2) 00 00 00 00 00 00 00 00 00 00
   0427 0001 02 001E 0004 $(cs a1b) 1401 0002 abcd 0427 0001 03"
pdu bind_transceiver 00000009 00000000 00000003 \
  "$(cs smppclient1) $(cs password) 00 34 00 00 00"
pdu bind_transceiver_resp 80000009 00000000 00000003 "$(cs SMSC) 0210 0001 34"
# submit_multi: one SME address and one distribution list
pdu submit_multi 00000021 00000000 00000004 \
  "00 0101 $(cs 12345) 02 01 0101 $(cs 111) 02 $(cs list1) 00 00 00 00 00 00 00 00 00 02 6869"
# submit_multi_resp with one unsuccess_sme
pdu submit_multi_resp 80000021 00000000 00000004 "$(cs m42) 01 0101 $(cs 111) 0000000b"
pdu enquire_link 00000015 00000000 00000005 ""
pdu enquire_link_resp 80000015 00000000 00000005 ""
pdu generic_nack 80000000 00000003 00000006 ""
pdu data_sm_resp 80000103 00000000 00000009 "$(cs msg1) 0425 0001 00 001D 0005 $(cs fine)"
pdu data_sm 00000103 00000000 0000000a \
  "$(cs WAP) 0101 $(cs 12345) 0101 $(cs 67890) 00 00 00 0205 0001 00 130C 0000 0424 0002 6869"
pdu submit_sm_resp_err 80000004 00000045 0000000b ""
pdu query_sm_resp 80000003 00000000 0000000c "$(cs m42) $(cs 240101120000000+) 02 00"
pdu alert_notification 00000102 00000000 0000000d "0101 $(cs 12345) 0101 $(cs 67890) 0422 0001 00"
pdu unbind 00000006 00000000 0000000e ""
pdu outbind 0000000b 00000000 0000000f "$(cs smsc) $(cs secret)"
pdu cancel_sm 00000008 00000000 00000010 "00 $(cs m42) 0101 $(cs 12345) 0101 $(cs 67890)"
pdu replace_sm 00000007 00000000 00000011 "$(cs m42) 0101 $(cs 12345) 00 00 00 00 03 616263"
