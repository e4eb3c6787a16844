/* lsmpp: what the parts of the Lua binding share. Each lsmpp_*.c file adds
 * its functions to the module table at the top of the stack. */
#ifndef LSMPP_H
#define LSMPP_H

#include "lsmpp_compat.h"

void lsmpp_open_text(lua_State *L);
void lsmpp_open_receipt(lua_State *L);

#endif
