/* smpp_defs: the tables of SMPP 3.4 — commands and their bodies, mandatory
 * fields, optional parameters (TLVs) and command_status names. */
#include <string.h>

#include "smpp_pdu.h"

#define FIELD(n, t, m, s) {n, SMPP_T_##t, m, s}

/* Sizes are the spec's maxima including the NUL (3.4 section 4). */
const smpp_field_info smpp_fields[SMPP_F_COUNT] = {
    [SMPP_F_SYSTEM_ID] = FIELD("system_id", CSTRING, 16, 0x0F),
    [SMPP_F_PASSWORD] = FIELD("password", CSTRING, 9, 0x0E),
    [SMPP_F_SYSTEM_TYPE] = FIELD("system_type", CSTRING, 13, 0x53),
    [SMPP_F_INTERFACE_VERSION] = FIELD("interface_version", INT8, 0, 0x0D),
    [SMPP_F_ADDR_TON] = FIELD("addr_ton", INT8, 0, 0x0D),
    [SMPP_F_ADDR_NPI] = FIELD("addr_npi", INT8, 0, 0x0D),
    [SMPP_F_ADDRESS_RANGE] = FIELD("address_range", CSTRING, 41, 0x0D),
    [SMPP_F_SERVICE_TYPE] = FIELD("service_type", CSTRING, 6, 0x15),
    [SMPP_F_SOURCE_ADDR_TON] = FIELD("source_addr_ton", INT8, 0, 0x48),
    [SMPP_F_SOURCE_ADDR_NPI] = FIELD("source_addr_npi", INT8, 0, 0x49),
    [SMPP_F_SOURCE_ADDR] = FIELD("source_addr", CSTRING, 21, 0x0A),
    [SMPP_F_DEST_ADDR_TON] = FIELD("dest_addr_ton", INT8, 0, 0x50),
    [SMPP_F_DEST_ADDR_NPI] = FIELD("dest_addr_npi", INT8, 0, 0x51),
    [SMPP_F_DESTINATION_ADDR] = FIELD("destination_addr", CSTRING, 21, 0x0B),
    [SMPP_F_ESM_CLASS] = FIELD("esm_class", INT8, 0, 0x43),
    [SMPP_F_PROTOCOL_ID] = FIELD("protocol_id", INT8, 0, 0x08),
    [SMPP_F_PRIORITY_FLAG] = FIELD("priority_flag", INT8, 0, 0x06),
    [SMPP_F_SCHEDULE_DELIVERY_TIME] = FIELD("schedule_delivery_time", TIME, 17, 0x61),
    [SMPP_F_VALIDITY_PERIOD] = FIELD("validity_period", TIME, 17, 0x62),
    [SMPP_F_REGISTERED_DELIVERY] = FIELD("registered_delivery", INT8, 0, 0x07),
    [SMPP_F_REPLACE_IF_PRESENT_FLAG] = FIELD("replace_if_present_flag", INT8, 0, 0x54),
    [SMPP_F_DATA_CODING] = FIELD("data_coding", INT8, 0, 0x08),
    [SMPP_F_SM_DEFAULT_MSG_ID] = FIELD("sm_default_msg_id", INT8, 0, 0x63),
    [SMPP_F_SHORT_MESSAGE] = FIELD("short_message", SM, 0, 0x01),
    [SMPP_F_MESSAGE_ID] = FIELD("message_id", CSTRING, 65, 0x0C),
    [SMPP_F_FINAL_DATE] = FIELD("final_date", TIME, 17, 0x08),
    [SMPP_F_MESSAGE_STATE] = FIELD("message_state", INT8, 0, 0x08),
    [SMPP_F_ERROR_CODE] = FIELD("error_code", INT8, 0, 0x08),
    [SMPP_F_ESME_ADDR_TON] = FIELD("esme_addr_ton", INT8, 0, 0x50),
    [SMPP_F_ESME_ADDR_NPI] = FIELD("esme_addr_npi", INT8, 0, 0x51),
    [SMPP_F_ESME_ADDR] = FIELD("esme_addr", CSTRING, 65, 0x0B),
    [SMPP_F_DEST_ADDRESS] = FIELD("dest_address", DESTS, 0, 0x33),
    [SMPP_F_UNSUCCESS_SME] = FIELD("unsuccess_sme", UNSUCCESS, 0, 0x08),
    [SMPP_F_BODY] = FIELD("body", OCTETS, 0, 0x02),
};

#define S(f) {SMPP_F_##f, 0, 0}
#define SMAX(f, m) {SMPP_F_##f, m, 0}
#define SREQ(f) {SMPP_F_##f, 0, 1}
#define SREQMAX(f, m) {SMPP_F_##f, m, 1}

/* Bodies, 3.4 section 4. */
static const smpp_slot bind_body[] = {SREQ(SYSTEM_ID),   S(PASSWORD), S(SYSTEM_TYPE),
                                      S(INTERFACE_VERSION), S(ADDR_TON), S(ADDR_NPI),
                                      S(ADDRESS_RANGE)};
static const smpp_slot bind_resp_body[] = {S(SYSTEM_ID)};
static const smpp_slot outbind_body[] = {SREQ(SYSTEM_ID), S(PASSWORD)};
static const smpp_slot sm_body[] = {
    S(SERVICE_TYPE),    S(SOURCE_ADDR_TON),         S(SOURCE_ADDR_NPI),
    S(SOURCE_ADDR),     S(DEST_ADDR_TON),           S(DEST_ADDR_NPI),
    SREQ(DESTINATION_ADDR), S(ESM_CLASS),           S(PROTOCOL_ID),
    S(PRIORITY_FLAG),   S(SCHEDULE_DELIVERY_TIME),  S(VALIDITY_PERIOD),
    S(REGISTERED_DELIVERY), S(REPLACE_IF_PRESENT_FLAG), S(DATA_CODING),
    S(SM_DEFAULT_MSG_ID), S(SHORT_MESSAGE)};
static const smpp_slot message_id_body[] = {S(MESSAGE_ID)};
static const smpp_slot data_sm_body[] = {
    S(SERVICE_TYPE),  S(SOURCE_ADDR_TON), S(SOURCE_ADDR_NPI),       SMAX(SOURCE_ADDR, 65),
    S(DEST_ADDR_TON), S(DEST_ADDR_NPI),   SREQMAX(DESTINATION_ADDR, 65), S(ESM_CLASS),
    S(REGISTERED_DELIVERY), S(DATA_CODING)};
static const smpp_slot query_sm_body[] = {SREQ(MESSAGE_ID), S(SOURCE_ADDR_TON),
                                          S(SOURCE_ADDR_NPI), S(SOURCE_ADDR)};
static const smpp_slot query_sm_resp_body[] = {S(MESSAGE_ID), S(FINAL_DATE), S(MESSAGE_STATE),
                                               S(ERROR_CODE)};
static const smpp_slot cancel_sm_body[] = {S(SERVICE_TYPE),    S(MESSAGE_ID),
                                           S(SOURCE_ADDR_TON), S(SOURCE_ADDR_NPI),
                                           S(SOURCE_ADDR),     S(DEST_ADDR_TON),
                                           S(DEST_ADDR_NPI),   S(DESTINATION_ADDR)};
static const smpp_slot replace_sm_body[] = {
    SREQ(MESSAGE_ID),   S(SOURCE_ADDR_TON),     S(SOURCE_ADDR_NPI),
    S(SOURCE_ADDR),     S(SCHEDULE_DELIVERY_TIME), S(VALIDITY_PERIOD),
    S(REGISTERED_DELIVERY), S(SM_DEFAULT_MSG_ID), S(SHORT_MESSAGE)};
static const smpp_slot submit_multi_body[] = {
    S(SERVICE_TYPE),    S(SOURCE_ADDR_TON),  S(SOURCE_ADDR_NPI),
    S(SOURCE_ADDR),     SREQ(DEST_ADDRESS),  S(ESM_CLASS),
    S(PROTOCOL_ID),     S(PRIORITY_FLAG),    S(SCHEDULE_DELIVERY_TIME),
    S(VALIDITY_PERIOD), S(REGISTERED_DELIVERY), S(REPLACE_IF_PRESENT_FLAG),
    S(DATA_CODING),     S(SM_DEFAULT_MSG_ID), S(SHORT_MESSAGE)};
static const smpp_slot submit_multi_resp_body[] = {S(MESSAGE_ID), S(UNSUCCESS_SME)};
static const smpp_slot alert_body[] = {S(SOURCE_ADDR_TON),  S(SOURCE_ADDR_NPI),
                                       SMAX(SOURCE_ADDR, 65), S(ESME_ADDR_TON),
                                       S(ESME_ADDR_NPI),    SREQMAX(ESME_ADDR, 65)};

#define NS(a) a, (uint8_t)(sizeof(a) / sizeof((a)[0]))
#define T SMPP_CMD_TLVS
#define R SMPP_CMD_RESPONSE

/* TLVs on submit_sm_resp, deliver_sm_resp and submit_multi_resp are SMPP 5.0,
 * but SMSCs send them to 3.4 clients; they are accepted so nothing is lost. */
const smpp_command_info smpp_commands[] = {
    {SMPP_GENERIC_NACK, "generic_nack", NULL, 0, R, 0},
    {SMPP_BIND_RECEIVER, "bind_receiver", NS(bind_body), 0, 1},
    {SMPP_BIND_RECEIVER | SMPP_RESP_BIT, "bind_receiver_resp", NS(bind_resp_body), T | R, 2},
    {SMPP_BIND_TRANSMITTER, "bind_transmitter", NS(bind_body), 0, 3},
    {SMPP_BIND_TRANSMITTER | SMPP_RESP_BIT, "bind_transmitter_resp", NS(bind_resp_body), T | R, 4},
    {SMPP_QUERY_SM, "query_sm", NS(query_sm_body), 0, 5},
    {SMPP_QUERY_SM | SMPP_RESP_BIT, "query_sm_resp", NS(query_sm_resp_body), R, 6},
    {SMPP_SUBMIT_SM, "submit_sm", NS(sm_body), T, 7},
    {SMPP_SUBMIT_SM | SMPP_RESP_BIT, "submit_sm_resp", NS(message_id_body), T | R, 8},
    {SMPP_DELIVER_SM, "deliver_sm", NS(sm_body), T, 9},
    {SMPP_DELIVER_SM | SMPP_RESP_BIT, "deliver_sm_resp", NS(message_id_body), T | R, 10},
    {SMPP_UNBIND, "unbind", NULL, 0, 0, 11},
    {SMPP_UNBIND | SMPP_RESP_BIT, "unbind_resp", NULL, 0, R, 12},
    {SMPP_REPLACE_SM, "replace_sm", NS(replace_sm_body), 0, 13},
    {SMPP_REPLACE_SM | SMPP_RESP_BIT, "replace_sm_resp", NULL, 0, R, 14},
    {SMPP_CANCEL_SM, "cancel_sm", NS(cancel_sm_body), 0, 15},
    {SMPP_CANCEL_SM | SMPP_RESP_BIT, "cancel_sm_resp", NULL, 0, R, 16},
    {SMPP_BIND_TRANSCEIVER, "bind_transceiver", NS(bind_body), 0, 17},
    {SMPP_BIND_TRANSCEIVER | SMPP_RESP_BIT, "bind_transceiver_resp", NS(bind_resp_body), T | R, 18},
    {SMPP_OUTBIND, "outbind", NS(outbind_body), 0, 19},
    {SMPP_ENQUIRE_LINK, "enquire_link", NULL, 0, 0, 20},
    {SMPP_ENQUIRE_LINK | SMPP_RESP_BIT, "enquire_link_resp", NULL, 0, R, 21},
    {SMPP_SUBMIT_MULTI, "submit_multi", NS(submit_multi_body), T, 22},
    {SMPP_SUBMIT_MULTI | SMPP_RESP_BIT, "submit_multi_resp", NS(submit_multi_resp_body), T | R, 23},
    {SMPP_ALERT_NOTIFICATION, "alert_notification", NS(alert_body), T, 24},
    {SMPP_DATA_SM, "data_sm", NS(data_sm_body), T, 25},
    {SMPP_DATA_SM | SMPP_RESP_BIT, "data_sm_resp", NS(message_id_body), T | R, 26},
};
const size_t smpp_ncommands = sizeof(smpp_commands) / sizeof(smpp_commands[0]);

#define TLV(tag, name, type, lo, hi) {tag, name, SMPP_T_##type, lo, hi}

/* 3.4 section 5.3.2. In smpp_tlvs[] order the encoder writes named TLVs. */
const smpp_tlv_info smpp_tlvs[] = {
    TLV(0x0005, "dest_addr_subunit", INT8, 0, 0),
    TLV(0x0006, "dest_network_type", INT8, 0, 0),
    TLV(0x0007, "dest_bearer_type", INT8, 0, 0),
    TLV(0x0008, "dest_telematics_id", INT16, 0, 0),
    TLV(0x000D, "source_addr_subunit", INT8, 0, 0),
    TLV(0x000E, "source_network_type", INT8, 0, 0),
    TLV(0x000F, "source_bearer_type", INT8, 0, 0),
    TLV(0x0010, "source_telematics_id", INT16, 0, 0),
    TLV(0x0017, "qos_time_to_live", INT32, 0, 0),
    TLV(0x0019, "payload_type", INT8, 0, 0),
    TLV(0x001D, "additional_status_info_text", CSTRING, 1, 256),
    TLV(0x001E, "receipted_message_id", CSTRING, 1, 65),
    TLV(0x0030, "ms_msg_wait_facilities", INT8, 0, 0),
    TLV(0x0201, "privacy_indicator", INT8, 0, 0),
    TLV(0x0202, "source_subaddress", OCTETS, 2, 23),
    TLV(0x0203, "dest_subaddress", OCTETS, 2, 23),
    TLV(0x0204, "user_message_reference", INT16, 0, 0),
    TLV(0x0205, "user_response_code", INT8, 0, 0),
    TLV(0x020A, "source_port", INT16, 0, 0),
    TLV(0x020B, "destination_port", INT16, 0, 0),
    TLV(0x020C, "sar_msg_ref_num", INT16, 0, 0),
    TLV(0x020D, "language_indicator", INT8, 0, 0),
    TLV(0x020E, "sar_total_segments", INT8, 0, 0),
    TLV(0x020F, "sar_segment_seqnum", INT8, 0, 0),
    TLV(0x0210, "sc_interface_version", INT8, 0, 0),
    TLV(0x0302, "callback_num_pres_ind", INT8, 0, 0),
    TLV(0x0303, "callback_num_atag", OCTETS, 0, 65),
    TLV(0x0304, "number_of_messages", INT8, 0, 0),
    TLV(0x0381, "callback_num", OCTETS, 4, 19),
    TLV(0x0420, "dpf_result", INT8, 0, 0),
    TLV(0x0421, "set_dpf", INT8, 0, 0),
    TLV(0x0422, "ms_availability_status", INT8, 0, 0),
    TLV(0x0423, "network_error_code", OCTETS, 3, 3),
    TLV(0x0424, "message_payload", OCTETS, 0, 0),
    TLV(0x0425, "delivery_failure_reason", INT8, 0, 0),
    TLV(0x0426, "more_messages_to_send", INT8, 0, 0),
    TLV(0x0427, "message_state", INT8, 0, 0),
    TLV(0x0501, "ussd_service_op", INT8, 0, 0),
    TLV(0x1201, "display_time", INT8, 0, 0),
    TLV(0x1203, "sms_signal", INT16, 0, 0),
    TLV(0x1204, "ms_validity", INT8, 0, 0),
    TLV(0x130C, "alert_on_message_delivery", FLAG, 0, 0),
    TLV(0x1380, "its_reply_type", INT8, 0, 0),
    TLV(0x1383, "its_session_info", OCTETS, 2, 2),
};
const size_t smpp_ntlvs = sizeof(smpp_tlvs) / sizeof(smpp_tlvs[0]);

/* 3.4 section 5.1.3 */
const smpp_status_info smpp_statuses[] = {
    {0x00, "ESME_ROK", "no error"},
    {0x01, "ESME_RINVMSGLEN", "message length is invalid"},
    {0x02, "ESME_RINVCMDLEN", "command length is invalid"},
    {0x03, "ESME_RINVCMDID", "invalid command ID"},
    {0x04, "ESME_RINVBNDSTS", "incorrect bind status for given command"},
    {0x05, "ESME_RALYBND", "ESME already in bound state"},
    {0x06, "ESME_RINVPRTFLG", "invalid priority flag"},
    {0x07, "ESME_RINVREGDLVFLG", "invalid registered delivery flag"},
    {0x08, "ESME_RSYSERR", "system error"},
    {0x0A, "ESME_RINVSRCADR", "invalid source address"},
    {0x0B, "ESME_RINVDSTADR", "invalid destination address"},
    {0x0C, "ESME_RINVMSGID", "message ID is invalid"},
    {0x0D, "ESME_RBINDFAIL", "bind failed"},
    {0x0E, "ESME_RINVPASWD", "invalid password"},
    {0x0F, "ESME_RINVSYSID", "invalid system ID"},
    {0x11, "ESME_RCANCELFAIL", "cancel_sm failed"},
    {0x13, "ESME_RREPLACEFAIL", "replace_sm failed"},
    {0x14, "ESME_RMSGQFUL", "message queue full"},
    {0x15, "ESME_RINVSERTYP", "invalid service type"},
    {0x33, "ESME_RINVNUMDESTS", "invalid number of destinations"},
    {0x34, "ESME_RINVDLNAME", "invalid distribution list name"},
    {0x40, "ESME_RINVDESTFLAG", "destination flag is invalid (submit_multi)"},
    {0x42, "ESME_RINVSUBREP", "invalid 'submit with replace' request"},
    {0x43, "ESME_RINVESMCLASS", "invalid esm_class field data"},
    {0x44, "ESME_RCNTSUBDL", "cannot submit to distribution list"},
    {0x45, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"},
    {0x48, "ESME_RINVSRCTON", "invalid source address TON"},
    {0x49, "ESME_RINVSRCNPI", "invalid source address NPI"},
    {0x50, "ESME_RINVDSTTON", "invalid destination address TON"},
    {0x51, "ESME_RINVDSTNPI", "invalid destination address NPI"},
    {0x53, "ESME_RINVSYSTYP", "invalid system_type field"},
    {0x54, "ESME_RINVREPFLAG", "invalid replace_if_present flag"},
    {0x55, "ESME_RINVNUMMSGS", "invalid number of messages"},
    {0x58, "ESME_RTHROTTLED", "throttling error"},
    {0x61, "ESME_RINVSCHED", "invalid scheduled delivery time"},
    {0x62, "ESME_RINVEXPIRY", "invalid message validity period"},
    {0x63, "ESME_RINVDFTMSGID", "predefined message invalid or not found"},
    {0x64, "ESME_RX_T_APPN", "ESME receiver temporary app error"},
    {0x65, "ESME_RX_P_APPN", "ESME receiver permanent app error"},
    {0x66, "ESME_RX_R_APPN", "ESME receiver reject message error"},
    {0x67, "ESME_RQUERYFAIL", "query_sm request failed"},
    {0xC0, "ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU body"},
    {0xC1, "ESME_ROPTPARNOTALLWD", "optional parameter not allowed"},
    {0xC2, "ESME_RINVPARLEN", "invalid parameter length"},
    {0xC3, "ESME_RMISSINGOPTPARAM", "expected optional parameter missing"},
    {0xC4, "ESME_RINVOPTPARAMVAL", "invalid optional parameter value"},
    {0xFE, "ESME_RDELIVERYFAILURE", "delivery failure"},
    {0xFF, "ESME_RUNKNOWNERR", "unknown error"},
};
const size_t smpp_nstatuses = sizeof(smpp_statuses) / sizeof(smpp_statuses[0]);

const smpp_command_info *smpp_command_by_id(uint32_t id)
{
    /* Requests and responses differ only in bit 31; the low bits are sparse. */
    size_t i;
    for (i = 0; i < smpp_ncommands; i++)
        if (smpp_commands[i].id == id)
            return &smpp_commands[i];
    return NULL;
}

const smpp_command_info *smpp_command_by_name(const char *name, size_t len)
{
    size_t i;
    for (i = 0; i < smpp_ncommands; i++)
        if (strlen(smpp_commands[i].name) == len && memcmp(smpp_commands[i].name, name, len) == 0)
            return &smpp_commands[i];
    return NULL;
}

int smpp_tlv_index(uint16_t tag)
{
    size_t lo = 0, hi = smpp_ntlvs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (smpp_tlvs[mid].tag == tag)
            return (int)mid;
        if (smpp_tlvs[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const smpp_status_info *smpp_status_by_code(uint32_t status)
{
    size_t i;
    for (i = 0; i < smpp_nstatuses; i++)
        if (smpp_statuses[i].status == status)
            return &smpp_statuses[i];
    return NULL;
}

const char *smpp_strerror(int code)
{
    switch (code) {
    case SMPP_OK: return "success";
    case SMPP_ENOMEM: return "out of memory";
    case SMPP_EDECODE: return "malformed PDU";
    case SMPP_EENCODE: return "value cannot be encoded";
    case SMPP_EFRAME: return "byte stream cannot be framed";
    case SMPP_ETEXT: return "text cannot be converted";
    case SMPP_ETLS: return "TLS error";
    case SMPP_EAGAIN: return "try again when more input has come";
    case SMPP_ENET: return "network error";
    case SMPP_ESTATE: return "not allowed in this session state";
    case SMPP_EWINDOW: return "window full";
    case SMPP_ECLOSED: return "session closed";
    case SMPP_ETHROTTLED: return "throttled";
    default: return "unknown error";
    }
}
