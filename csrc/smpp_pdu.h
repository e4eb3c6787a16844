/* smpp_pdu: the SMPP 3.4 PDU codec. Plain C, no Lua, no I/O.
 *
 * Decoding is zero-copy: string fields of a decoded smpp_pdu point into the
 * caller's input buffer, which must outlive the smpp_pdu. Encoding appends to
 * an smpp_buf that the caller reuses, so neither direction allocates per PDU. */
#ifndef SMPP_PDU_H
#define SMPP_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "smpp_buf.h"

/* Negative error codes of the core (nghttp2 style); see smpp_strerror(). */
#define SMPP_OK 0
#define SMPP_ENOMEM (-1)
#define SMPP_EDECODE (-2)  /* malformed input; smpp_error.status says what to answer */
#define SMPP_EENCODE (-3)  /* a value cannot be encoded; smpp_error.msg names it */
#define SMPP_EFRAME (-4)   /* the byte stream cannot be split into PDUs */
#define SMPP_ETEXT (-5)    /* text that cannot be converted (smpp_gsm, smpp_text) */
#define SMPP_ETLS (-6)     /* TLS failed (smpp_tls); smpp_tls_error() says why */
#define SMPP_EAGAIN (-7)   /* nothing to do until more input comes (smpp_tls) */
#define SMPP_ENET (-8)     /* a socket call failed (smpp_net); the message says which */
#define SMPP_ESTATE (-9)   /* not allowed in this session state (smpp_session) */
#define SMPP_EWINDOW (-10) /* the window of outstanding requests is full (smpp_session) */
#define SMPP_ECLOSED (-11) /* the session is closed (smpp_session) */
#define SMPP_ETHROTTLED (-12) /* a submit must wait for the throttle (smpp_session) */

#define SMPP_HEADER_LEN 16
#define SMPP_DEFAULT_MAX_LENGTH 65536
#define SMPP_MAX_SM_LENGTH 254 /* short_message, 3.4 section 5.2.22 */
#define SMPP_MAX_DESTS 254     /* submit_multi number_of_dests, 3.4 section 4.5.1 */
#define SMPP_INTERFACE_VERSION 0x34

/* command_id values, 3.4 section 5.1.2.1 */
#define SMPP_GENERIC_NACK 0x80000000u
#define SMPP_BIND_RECEIVER 0x00000001u
#define SMPP_BIND_TRANSMITTER 0x00000002u
#define SMPP_QUERY_SM 0x00000003u
#define SMPP_SUBMIT_SM 0x00000004u
#define SMPP_DELIVER_SM 0x00000005u
#define SMPP_UNBIND 0x00000006u
#define SMPP_REPLACE_SM 0x00000007u
#define SMPP_CANCEL_SM 0x00000008u
#define SMPP_BIND_TRANSCEIVER 0x00000009u
#define SMPP_OUTBIND 0x0000000Bu
#define SMPP_ENQUIRE_LINK 0x00000015u
#define SMPP_SUBMIT_MULTI 0x00000021u
#define SMPP_ALERT_NOTIFICATION 0x00000102u
#define SMPP_DATA_SM 0x00000103u
#define SMPP_RESP_BIT 0x80000000u

/* command_status values used by the codec itself, 3.4 section 5.1.3 */
#define SMPP_ESME_ROK 0x00u
#define SMPP_ESME_RINVMSGLEN 0x01u
#define SMPP_ESME_RINVCMDLEN 0x02u
#define SMPP_ESME_RINVCMDID 0x03u
#define SMPP_ESME_RSYSERR 0x08u
#define SMPP_ESME_RINVNUMDESTS 0x33u
#define SMPP_ESME_RINVDESTFLAG 0x40u
#define SMPP_ESME_RINVOPTPARSTREAM 0xC0u
#define SMPP_ESME_RINVPARLEN 0xC2u
#define SMPP_ESME_RINVOPTPARAMVAL 0xC4u

/* Mandatory fields, by the names of the 3.4 specification. */
typedef enum smpp_field {
    SMPP_F_SYSTEM_ID,
    SMPP_F_PASSWORD,
    SMPP_F_SYSTEM_TYPE,
    SMPP_F_INTERFACE_VERSION,
    SMPP_F_ADDR_TON,
    SMPP_F_ADDR_NPI,
    SMPP_F_ADDRESS_RANGE,
    SMPP_F_SERVICE_TYPE,
    SMPP_F_SOURCE_ADDR_TON,
    SMPP_F_SOURCE_ADDR_NPI,
    SMPP_F_SOURCE_ADDR,
    SMPP_F_DEST_ADDR_TON,
    SMPP_F_DEST_ADDR_NPI,
    SMPP_F_DESTINATION_ADDR,
    SMPP_F_ESM_CLASS,
    SMPP_F_PROTOCOL_ID,
    SMPP_F_PRIORITY_FLAG,
    SMPP_F_SCHEDULE_DELIVERY_TIME,
    SMPP_F_VALIDITY_PERIOD,
    SMPP_F_REGISTERED_DELIVERY,
    SMPP_F_REPLACE_IF_PRESENT_FLAG,
    SMPP_F_DATA_CODING,
    SMPP_F_SM_DEFAULT_MSG_ID,
    SMPP_F_SHORT_MESSAGE,
    SMPP_F_MESSAGE_ID,
    SMPP_F_FINAL_DATE,
    SMPP_F_MESSAGE_STATE,
    SMPP_F_ERROR_CODE,
    SMPP_F_ESME_ADDR_TON,
    SMPP_F_ESME_ADDR_NPI,
    SMPP_F_ESME_ADDR,
    SMPP_F_DEST_ADDRESS,  /* submit_multi: list of smpp_dest */
    SMPP_F_UNSUCCESS_SME, /* submit_multi_resp: list of smpp_unsuccess */
    SMPP_F_BODY,          /* unparsed body of an error response (see below) */
    SMPP_F_COUNT
} smpp_field;

typedef enum smpp_type {
    SMPP_T_INT8,
    SMPP_T_INT16,
    SMPP_T_INT32,
    SMPP_T_CSTRING, /* C-Octet String: value without its NUL */
    SMPP_T_TIME,    /* C-Octet String of 0 or 16 characters, 3.4 section 7.1 */
    SMPP_T_OCTETS,
    SMPP_T_SM,      /* sm_length + short_message */
    SMPP_T_DESTS,
    SMPP_T_UNSUCCESS,
    SMPP_T_FLAG     /* TLV with no value (alert_on_message_delivery) */
} smpp_type;

typedef struct smpp_field_info {
    const char *name;
    uint8_t type;    /* smpp_type */
    uint8_t max;     /* C-Octet String: size with the NUL, as in the spec tables */
    uint8_t status;  /* command_status for a bad value in this field */
} smpp_field_info;

/* One mandatory field of a command body, in wire order. */
typedef struct smpp_slot {
    uint8_t field;    /* smpp_field */
    uint8_t max;      /* overrides smpp_field_info.max when non-zero */
    uint8_t required; /* encode refuses a table without it */
} smpp_slot;

#define SMPP_CMD_TLVS 0x01     /* optional parameters may follow the body */
#define SMPP_CMD_RESPONSE 0x02

typedef struct smpp_command_info {
    uint32_t id;
    const char *name;
    const smpp_slot *slots;
    uint8_t nslots;
    uint8_t flags;
    uint8_t index; /* position in smpp_commands[] */
} smpp_command_info;

/* Optional parameters (TLVs) of 3.4 section 5.3.2. */
typedef struct smpp_tlv_info {
    uint16_t tag;
    const char *name;
    uint8_t type;     /* smpp_type: INT8/16/32, CSTRING, OCTETS, FLAG */
    uint16_t min_len; /* for CSTRING and OCTETS: the value's allowed sizes */
    uint16_t max_len; /* (for CSTRING, including the NUL); 0 = no limit */
} smpp_tlv_info;

extern const smpp_field_info smpp_fields[SMPP_F_COUNT];
extern const smpp_command_info smpp_commands[];
extern const size_t smpp_ncommands;
extern const smpp_tlv_info smpp_tlvs[];
extern const size_t smpp_ntlvs;
#define SMPP_TLV_KNOWN_MAX 64 /* smpp_ntlvs <= this; presence fits a uint64_t */

/* command_status names and descriptions: ESME_RTHROTTLED, "throttling error". */
typedef struct smpp_status_info {
    uint32_t status;
    const char *name;
    const char *text;
} smpp_status_info;
extern const smpp_status_info smpp_statuses[];
extern const size_t smpp_nstatuses;

const smpp_command_info *smpp_command_by_id(uint32_t id);
const smpp_command_info *smpp_command_by_name(const char *name, size_t len);
/* Index into smpp_tlvs[] for a tag, or -1. */
int smpp_tlv_index(uint16_t tag);
const smpp_status_info *smpp_status_by_code(uint32_t status);
const char *smpp_strerror(int code);

typedef struct smpp_value {
    const uint8_t *ptr; /* strings, octets, lists: the octets */
    uint32_t len;
    uint32_t num;       /* integers; for lists: the number of entries */
} smpp_value;

/* submit_multi dest_address entry, 3.4 section 4.5.1.1 */
typedef struct smpp_dest {
    uint8_t dest_flag; /* 1 SME address, 2 distribution list */
    uint8_t ton, npi;  /* dest_flag 1 only */
    const uint8_t *addr; /* destination_addr or dl_name, without NUL */
    uint32_t addr_len;
} smpp_dest;

/* submit_multi_resp unsuccess_sme entry, 3.4 section 4.5.2.1 */
typedef struct smpp_unsuccess {
    uint8_t ton, npi;
    const uint8_t *addr;
    uint32_t addr_len;
    uint32_t error_status_code;
} smpp_unsuccess;

typedef struct smpp_tlv {
    uint16_t tag;
    uint16_t len;
    const uint8_t *val;
} smpp_tlv;

typedef struct smpp_pdu {
    uint32_t command_length;
    uint32_t command_id;
    uint32_t command_status;
    uint32_t sequence_number;
    const smpp_command_info *cmd;
    uint64_t present;     /* bit (1 << smpp_field) for each field given */
    smpp_value f[SMPP_F_COUNT];
    uint64_t tlv_present; /* bit (1 << index in smpp_tlvs) for each known TLV */
    smpp_value tlv[SMPP_TLV_KNOWN_MAX];

    /* Decode: the optional part as received. TLVs that are not taken into
     * tlv[] (unknown tags, repeats of a known tag) are "extra"; tlv_canonical
     * says whether the order is the one the encoder writes (named TLVs in
     * smpp_tlvs[] order, then extras), so that a re-encode gives the same bytes. */
    const uint8_t *tlv_data;
    uint32_t tlv_len;
    int tlv_canonical;

    /* Encode: extra TLVs to append, and optionally the exact order of all
     * TLVs as tags (a named tag is written from tlv[] the first time it
     * appears, from the next extra after that). Storage is the caller's. */
    const smpp_tlv *extra;
    size_t nextra;
    const uint16_t *order;
    size_t norder;

    /* submit_multi lists, bounded by the specification's one-octet counts. */
    smpp_dest dests[SMPP_MAX_DESTS];
    smpp_unsuccess unsuccess[255];
} smpp_pdu;

typedef struct smpp_error {
    uint32_t status; /* the command_status a peer should be answered with */
    char msg[192];
} smpp_error;

/* Resets pdu to an empty PDU with the given command (no fields present). */
void smpp_pdu_init(smpp_pdu *pdu, const smpp_command_info *cmd, uint32_t sequence_number);

/* Decodes exactly one whole PDU of len octets (len must equal its
 * command_length). Returns SMPP_OK or SMPP_EDECODE with err filled in. When
 * the header could be read, pdu->command_id and pdu->sequence_number are set
 * even on failure, so that a generic_nack can name the sequence number. */
int smpp_pdu_decode(smpp_pdu *pdu, const uint8_t *buf, size_t len, size_t max_length,
                    smpp_error *err);

/* Iterates the optional part of a decoded PDU: *pos starts at 0; returns 1
 * and fills *tlv (with *named set to whether it went into tlv[]) or 0 at
 * the end. */
int smpp_pdu_tlv_next(const smpp_pdu *pdu, uint32_t *pos, smpp_tlv *tlv, int *named);

/* Appends the encoded PDU to out. Missing integer fields are 0, missing
 * strings empty; a missing required field, an over-long or malformed value
 * gives SMPP_EENCODE with err->msg naming the field. */
int smpp_pdu_encode(const smpp_pdu *pdu, smpp_buf *out, smpp_error *err);

/* 3.4 section 7.1: "YYMMDDhhmmsstnnp" absolute (p '+' or '-') or relative
 * (p 'R'), or empty. Returns 1 when s is well formed. */
int smpp_time_valid(const uint8_t *s, size_t len);

#endif
