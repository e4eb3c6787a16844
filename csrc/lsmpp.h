/* lsmpp: what the parts of the Lua binding share. Each lsmpp_*.c file adds
 * its functions to the module table at the top of the stack. */
#ifndef LSMPP_H
#define LSMPP_H

#include "lsmpp_compat.h"

#include "smpp_pdu.h"

void lsmpp_open_text(lua_State *L);
/* The module table is at index top, the codec's upvalues above it: the
 * session functions get them too (lsmpp_push_upvalues), and may then use
 * the two functions below. */
#define LSMPP_NUPVALUES 5
void lsmpp_open_session(lua_State *L, int top);
void lsmpp_push_upvalues(lua_State *L, int top);

/* The PDU in the Lua table at index t, checked (raises on bad values); it
 * lives in the codec until the next call. */
smpp_pdu *lsmpp_check_pdu(lua_State *L, int t);
/* Adds the fields and TLVs of the Lua table at index t (absolute) to the
 * codec's PDU (lsmpp_scratch_pdu's, or lsmpp_check_pdu's), checked as
 * lsmpp_check_pdu checks them. */
void lsmpp_read_fields(lua_State *L, int t);
/* The command named by the string at arg (raises when it is none). */
const smpp_command_info *lsmpp_check_command(lua_State *L, int arg);
/* The codec's PDU, emptied, for a command: a binding fills its fields
 * itself (strings must stay on the Lua stack until it is encoded). */
smpp_pdu *lsmpp_scratch_pdu(lua_State *L, uint32_t command_id);
struct smpp_receipt_info;
/* The deliver_sm reporting on the submit in octets (smpp_receipt_for), made
 * in the codec's PDU like lsmpp_scratch_pdu's; NULL when its text cannot be
 * made (smpp_receipt_for's SMPP_EENCODE). Raises when the octets are no submit. */
smpp_pdu *lsmpp_receipt_pdu(lua_State *L, const uint8_t *submit, size_t n,
                            const struct smpp_receipt_info *info);
/* Pushes a decoded PDU as a table. */
void lsmpp_push_pdu(lua_State *L, const smpp_pdu *pdu);
void lsmpp_open_receipt(lua_State *L);
/* Pushes the delivery receipt a deliver_sm or data_sm carries (by its
 * esm_class, read in its data_coding with the account's alphabet latin1 or
 * GSM 03.38, the TLVs winning over the text) and returns 1, or returns 0
 * with nothing pushed when it carries none. */
int lsmpp_push_receipt(lua_State *L, const smpp_pdu *pdu, int latin1);
void lsmpp_open_net(lua_State *L);
void lsmpp_open_tls(lua_State *L);

#endif
