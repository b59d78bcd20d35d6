#ifndef ROOST_SASL_MECH_H
#define ROOST_SASL_MECH_H
/* SASL mechanism interface. One mechanism = one file exporting one const
   struct sasl_mech. A mechanism never calls a passdb driver: it asks the
   request to verify a plaintext password or to look up credentials in a
   given scheme, and gets the result through a callback. Per-request state
   lives in the request's pool (mech_state_size bytes, zeroed). */
#include "lib.h"

struct auth_request;
struct str;

enum sasl_mech_flags {
	SASL_MECH_SEC_PRIVATE = 0x01,
	SASL_MECH_SEC_ANONYMOUS = 0x02,
	SASL_MECH_SEC_PLAINTEXT = 0x04,
	SASL_MECH_SEC_DICTIONARY = 0x08,
	SASL_MECH_SEC_ACTIVE = 0x10,
	SASL_MECH_SEC_FORWARD_SECRECY = 0x20,
	SASL_MECH_SEC_MUTUAL_AUTH = 0x40,
	/* not a wire flag: the decoded client data may contain NULs */
	SASL_MECH_ALLOW_NULS = 0x1000,
};

/* What the mechanism needs from the passdb (decides which passdbs can
   serve it and whether it can be offered at all). */
enum sasl_mech_passdb_need {
	SASL_MECH_NEED_NOTHING,            /* ANONYMOUS */
	SASL_MECH_NEED_VERIFY_PLAIN,       /* PLAIN, LOGIN */
	SASL_MECH_NEED_LOOKUP_CREDENTIALS, /* CRAM-MD5, DIGEST-MD5, SCRAM */
};

struct sasl_mech {
	const char *name;                  /* upper case, e.g. "PLAIN" */
	unsigned int flags;                /* enum sasl_mech_flags */
	enum sasl_mech_passdb_need passdb_need;
	const char *credentials_scheme;    /* for LOOKUP_CREDENTIALS */
	size_t state_size;
	/* The first step. has_initial tells whether the client sent an
	   initial response (data may still be empty). */
	void (*auth_initial)(struct auth_request *request, bool has_initial,
			     const unsigned char *data, size_t size);
	/* Later steps (client CONT). */
	void (*auth_continue)(struct auth_request *request,
			      const unsigned char *data, size_t size);
	/* Wipe secrets in the state (optional). */
	void (*auth_free)(struct auth_request *request);
};

/* The registry: all mechanisms compiled in, NULL-terminated. */
extern const struct sasl_mech *const sasl_mechanisms[];
const struct sasl_mech *sasl_mech_find(const char *name);
/* "plaintext dictionary ..." flag words for the MECH handshake line. */
void sasl_mech_flags_append(struct str *dest, unsigned int flags);

#endif
