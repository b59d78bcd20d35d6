/* The mechanisms compiled in, and their handshake flag words. */
#include "lib.h"
#include "str.h"
#include "sasl-mech.h"

#include <strings.h>

extern const struct sasl_mech sasl_mech_plain;
extern const struct sasl_mech sasl_mech_login;
extern const struct sasl_mech sasl_mech_anonymous;
extern const struct sasl_mech sasl_mech_external;
extern const struct sasl_mech sasl_mech_cram_md5;
extern const struct sasl_mech sasl_mech_digest_md5;
extern const struct sasl_mech sasl_mech_scram_sha1;
extern const struct sasl_mech sasl_mech_scram_sha256;
extern const struct sasl_mech sasl_mech_otp;
#ifdef HAVE_GSSAPI
extern const struct sasl_mech sasl_mech_gssapi;
#endif

const struct sasl_mech *const sasl_mechanisms[] = {
	&sasl_mech_plain,
	&sasl_mech_login,
	&sasl_mech_anonymous,
	&sasl_mech_external,
	&sasl_mech_cram_md5,
	&sasl_mech_digest_md5,
	&sasl_mech_scram_sha1,
	&sasl_mech_scram_sha256,
	&sasl_mech_otp,
#ifdef HAVE_GSSAPI
	&sasl_mech_gssapi,
#endif
	NULL
};

const struct sasl_mech *sasl_mech_find(const char *name)
{
	for (unsigned int i = 0; sasl_mechanisms[i] != NULL; i++) {
		if (strcasecmp(sasl_mechanisms[i]->name, name) == 0)
			return sasl_mechanisms[i];
	}
	return NULL;
}

void sasl_mech_flags_append(string_t *dest, unsigned int flags)
{
	static const struct { unsigned int flag; const char *word; } words[] = {
		{ SASL_MECH_SEC_PRIVATE, "private" },
		{ SASL_MECH_SEC_ANONYMOUS, "anonymous" },
		{ SASL_MECH_SEC_PLAINTEXT, "plaintext" },
		{ SASL_MECH_SEC_DICTIONARY, "dictionary" },
		{ SASL_MECH_SEC_ACTIVE, "active" },
		{ SASL_MECH_SEC_FORWARD_SECRECY, "forward-secrecy" },
		{ SASL_MECH_SEC_MUTUAL_AUTH, "mutual-auth" },
	};
	for (size_t i = 0; i < N_ELEMENTS(words); i++) {
		if ((flags & words[i].flag) != 0) {
			str_append_c(dest, '\t');
			str_append(dest, words[i].word);
		}
	}
}
