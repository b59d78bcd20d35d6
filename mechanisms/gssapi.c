/* GSSAPI (RFC 4752) over MIT Kerberos 5, server side, as Dovecot 2.3
   runs it:

     C: GSS token(s)            gss_accept_sec_context() until complete;
     S: GSS token(s)            a last server token costs one more round
                                (the client answers it with an empty one)
     S: wrap(01 FF FF FF)       security layers offered: none only
     C: wrap(layer, max size, [authzid])
     S: OK

   The authentication identity is the client principal's display name
   ("alice@EXAMPLE.TEST"), which auth_username_format and the realm
   settings turn into a user name (%Ln gives "alice"). The authorization
   identity is the authzid when the client sends one, else that same
   principal. When they differ, the principal must be listed in the
   authz user's passdb field k5principals (comma separated) or pass
   krb5_kuserok() (~user/.k5login, or the realm's local-name rules).

   The passdb is asked about the authz user without a password, so deny
   passdbs, allow_nets and extra fields apply. As in Dovecot, only a user
   the passdb disables (or an internal failure) stops the login: the KDC
   has vouched for the principal, so a user the passdbs don't know may
   still log in (the userdb decides whether there is a mailbox).

   Service credentials: "<service>@<auth_gssapi_hostname>" from the keytab
   auth_krb5_keytab (default: the library's, KRB5_KTNAME or
   /etc/krb5.keytab). Service pop3 uses "pop" and submission "smtp", the
   names clients ask for. Without auth_gssapi_hostname any host name of
   the service's principals in the keytab is accepted (the library's
   rule for a host-based name without host); "$ALL" accepts any principal
   in the keytab.

   Every failure is logged with its reason (the GSS status text); the
   client only sees FAIL. */
#include "lib.h"
#include "str.h"
#include "pool.h"
#include "sasl-mech.h"
#include "auth.h"
#include "auth-request.h"
#include "auth-fields.h"
#include "auth-settings.h"

#include <ctype.h>
#include <strings.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

/* The auth client protocol's line limit (16 kB, base64) bounds every
   token already; this bound says so where the token is used. Kerberos
   AP-REQs with large PACs stay well below it. */
#define GSSAPI_MAX_TOKEN_SIZE 16384
/* RFC 4752 3.1: layer bit mask */
#define GSSAPI_LAYER_NONE 0x01
#define GSSAPI_LAYER_INTEGRITY 0x02
#define GSSAPI_LAYER_CONFIDENTIALITY 0x04

enum gssapi_step {
	GSSAPI_STEP_SEC_CONTEXT = 0,  /* exchanging context tokens */
	GSSAPI_STEP_WRAP,             /* sent the last context token: the
					 client answers with an empty one */
	GSSAPI_STEP_UNWRAP,           /* sent the layer offer */
	GSSAPI_STEP_PASSDB,           /* waiting for the passdb */
	GSSAPI_STEP_DONE,
};

struct gssapi_state {
	enum gssapi_step step;
	/* GSS handles: zero is GSS_C_NO_CONTEXT / _CREDENTIAL / _NAME */
	gss_ctx_id_t context;
	gss_cred_id_t service_cred;
	gss_name_t authn_name;        /* client principal */
	gss_name_t authz_name;        /* authzid, or a copy of authn_name */
	const char *authn_display;    /* request pool */
};

/* The keytab given to the library (it is process-wide in libkrb5);
   malloc()ed, NULL while none was registered. */
static char *gssapi_registered_keytab;

/* Releases never report anything we'd act on, and must not overwrite
   the minor status of the call being reported. */
static void gssapi_buffer_free(gss_buffer_t buf)
{
	OM_uint32 ignored;

	(void)gss_release_buffer(&ignored, buf);
}

static void gssapi_name_free(gss_name_t *name)
{
	OM_uint32 ignored;

	if (*name != GSS_C_NO_NAME)
		(void)gss_release_name(&ignored, name);
}

static void ATTR_FORMAT(2, 3)
gssapi_fail(struct auth_request *request, const char *fmt, ...)
{
	struct gssapi_state *state = request->mech_state;
	va_list args;
	char *msg;

	va_start(args, fmt);
	msg = x_vprintf(fmt, args);
	va_end(args);
	auth_request_log_info(request, "GSSAPI: %s", msg);
	free(msg);
	state->step = GSSAPI_STEP_DONE;
	auth_request_fail(request);
}

/* Append the library's text for a GSS major or mechanism minor status
   (the messages come one at a time, RFC 2744 5.11). */
static void gssapi_status_append(string_t *dest, OM_uint32 status, int type)
{
	OM_uint32 message_context = 0, major, minor;
	gss_buffer_desc text;
	unsigned int count = 0;

	do {
		/* minor codes are the Kerberos mechanism's */
		major = gss_display_status(&minor, status, type,
					   type == GSS_C_MECH_CODE ? gss_mech_krb5 :
					   GSS_C_NO_OID, &message_context, &text);
		if (GSS_ERROR(major)) {
			str_printfa(dest, "%sstatus %u", count > 0 ? ", " : "",
				    (unsigned int)status);
			return;
		}
		if (count++ > 0)
			str_append(dest, ", ");
		/* library text, but keep control characters out of the log */
		for (size_t i = 0; i < text.length; i++) {
			unsigned char c = ((const unsigned char *)text.value)[i];
			str_append_c(dest, c < 0x20 || c == 0x7f ? '?' : (char)c);
		}
		gssapi_buffer_free(&text);
	} while (message_context != 0 && count < 8);
}

/* "<call> failed: <major text>: <minor text>", from the request pool. */
static const char *gssapi_error(struct auth_request *request, const char *call,
				OM_uint32 major, OM_uint32 minor)
{
	string_t *str = str_create(128);

	str_printfa(str, "%s failed: ", call);
	gssapi_status_append(str, major, GSS_C_GSS_CODE);
	if (minor != 0) {
		str_append(str, ": ");
		gssapi_status_append(str, minor, GSS_C_MECH_CODE);
	}
	const char *ret = pool_strdup(request->pool, str_c(str));
	str_free(&str);
	return ret;
}

static bool gssapi_oid_equals(const gss_OID_desc *oid1, const gss_OID_desc *oid2)
{
	return oid1 != GSS_C_NO_OID && oid2 != GSS_C_NO_OID &&
		oid1->length == oid2->length &&
		memcmp(oid1->elements, oid2->elements, oid1->length) == 0;
}

/* A name's display form. NULs are refused (names are C strings from here
   on); one trailing NUL is tolerated, as some libraries add it. Returns
   NULL after logging. */
static const char *gssapi_display_name(struct auth_request *request, gss_name_t name,
				       gss_OID *name_type_r, const char *what)
{
	OM_uint32 major, minor;
	gss_buffer_desc buf;
	const char *ret = NULL;

	major = gss_display_name(&minor, name, &buf, name_type_r);
	if (GSS_ERROR(major)) {
		auth_request_log_info(request, "GSSAPI: %s: %s", what,
				      gssapi_error(request, "gss_display_name()", major, minor));
		return NULL;
	}
	size_t len = buf.length;
	if (len > 0 && ((const char *)buf.value)[len - 1] == '\0')
		len--;
	if (memchr(buf.value, '\0', len) != NULL)
		auth_request_log_info(request, "GSSAPI: %s contains NUL", what);
	else
		ret = pool_strndup(request->pool, buf.value, len);
	gssapi_buffer_free(&buf);
	return ret;
}

/* auth_krb5_keytab: hand it to the library once (and again if a reload
   changed it). Returns false after logging: then the library would fall
   back to its default keytab, which is not what was configured. */
static bool gssapi_register_keytab(struct auth_request *request)
{
	const char *keytab = request->auth->set->auth_krb5_keytab;

	if (keytab == NULL || *keytab == '\0')
		return true;
	if (gssapi_registered_keytab != NULL &&
	    strcmp(gssapi_registered_keytab, keytab) == 0)
		return true;
	if (krb5_gss_register_acceptor_identity(keytab) != GSS_S_COMPLETE) {
		auth_request_log_error(request, "GSSAPI: "
			"krb5_gss_register_acceptor_identity(%s) failed", keytab);
		return false;
	}
	free(gssapi_registered_keytab);
	gssapi_registered_keytab = x_strdup(keytab);
	return true;
}

/* The service principal's name as a GSS host-based service name
   ("imap@mail.example.com"), from the request pool. */
static const char *gssapi_service_principal(struct auth_request *request,
					    const char *hostname)
{
	const char *service = request->service != NULL ? request->service : "";
	string_t *str = str_create(64);

	/* the names clients use: RFC 1939/RFC 5034 "pop", and SMTP
	   submission is "smtp" (RFC 4954 uses the SMTP service name) */
	if (strcasecmp(service, "pop3") == 0)
		str_append(str, "pop");
	else if (strcasecmp(service, "submission") == 0)
		str_append(str, "smtp");
	else {
		for (const char *p = service; *p != '\0'; p++)
			str_append_c(str, (char)tolower((unsigned char)*p));
	}
	str_append_c(str, '@');
	str_append(str, hostname);
	const char *ret = pool_strdup(request->pool, str_c(str));
	str_free(&str);
	return ret;
}

/* Acquire the acceptor credentials for this request. Returns false after
   logging. */
static bool gssapi_acquire_credentials(struct auth_request *request)
{
	struct gssapi_state *state = request->mech_state;
	const char *hostname = request->auth->set->auth_gssapi_hostname;
	OM_uint32 major, minor;
	gss_buffer_desc buf;
	gss_name_t name;

	if (!gssapi_register_keytab(request))
		return false;
	if (hostname != NULL && strcmp(hostname, "$ALL") == 0) {
		/* any principal in the keytab */
		ctx_debug(&request->log, "GSSAPI: using all keytab entries");
		state->service_cred = GSS_C_NO_CREDENTIAL;
		return true;
	}
	/* Unset: "service@" with no host, as Dovecot 2.3 imports it; the
	   library then accepts the service's keys for any host name in the
	   keytab. */
	if (hostname == NULL)
		hostname = "";
	const char *principal = gssapi_service_principal(request, hostname);
	ctx_debug(&request->log, "GSSAPI: obtaining credentials for %s%s", principal,
		  *hostname == '\0' ? " (any host name)" : "");

	buf.value = (void *)principal;
	buf.length = strlen(principal);
	major = gss_import_name(&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &name);
	if (GSS_ERROR(major)) {
		auth_request_log_error(request, "GSSAPI: service principal %s: %s",
				       principal, gssapi_error(request, "gss_import_name()",
							       major, minor));
		return false;
	}
	/* Kerberos 5 only: other mechanisms would be refused once the
	   context is complete anyway */
	gss_OID_set_desc mechs = { .count = 1, .elements = gss_mech_krb5 };
	major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs,
				 GSS_C_ACCEPT, &state->service_cred, NULL, NULL);
	gssapi_name_free(&name);
	if (GSS_ERROR(major)) {
		/* the keytab lacks the principal, or can't be read */
		auth_request_log_error(request, "GSSAPI: service credentials for %s "
				       "(keytab %s): %s", principal,
				       gssapi_registered_keytab != NULL ?
				       gssapi_registered_keytab : "library default",
				       gssapi_error(request, "gss_acquire_cred()",
						    major, minor));
		state->service_cred = GSS_C_NO_CREDENTIAL;
		return false;
	}
	return true;
}

/* RFC 4752 3.1: the context is established; offer the security layers
   (none only: nothing after authentication is wrapped) with the maximum
   message size Dovecot announces. */
static void gssapi_send_layer_offer(struct auth_request *request)
{
	struct gssapi_state *state = request->mech_state;
	unsigned char offer[4] = { GSSAPI_LAYER_NONE, 0xff, 0xff, 0xff };
	gss_buffer_desc in, out;
	OM_uint32 major, minor;

	in.value = offer;
	in.length = sizeof(offer);
	major = gss_wrap(&minor, state->context, 0, GSS_C_QOP_DEFAULT, &in, NULL, &out);
	if (GSS_ERROR(major)) {
		gssapi_fail(request, "security layer offer: %s",
			    gssapi_error(request, "gss_wrap()", major, minor));
		return;
	}
	state->step = GSSAPI_STEP_UNWRAP;
	auth_request_handler_reply_continue(request, out.value, out.length);
	gssapi_buffer_free(&out);
}

static void gssapi_sec_context(struct auth_request *request,
			       const unsigned char *data, size_t size)
{
	struct gssapi_state *state = request->mech_state;
	gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
	gss_name_t source_name = GSS_C_NO_NAME;
	gss_OID mech_type = GSS_C_NO_OID;
	OM_uint32 major, minor;
	const char *error;

	in.value = (void *)data;
	in.length = size;
	major = gss_accept_sec_context(&minor, &state->context, state->service_cred,
				       &in, GSS_C_NO_CHANNEL_BINDINGS, &source_name,
				       &mech_type, &out, NULL, NULL, NULL);
	if (GSS_ERROR(major)) {
		/* bad or expired ticket, wrong service key, replay, garbage */
		gssapi_buffer_free(&out);
		gssapi_name_free(&source_name);
		gssapi_fail(request, "%s", gssapi_error(request, "gss_accept_sec_context()",
							major, minor));
		return;
	}
	if ((major & GSS_S_CONTINUE_NEEDED) != 0) {
		gssapi_name_free(&source_name);
		ctx_debug(&request->log, "GSSAPI: context token accepted, "
			  "waiting for the next one");
		auth_request_handler_reply_continue(request, out.value, out.length);
		gssapi_buffer_free(&out);
		return;
	}

	/* GSS_S_COMPLETE */
	state->authn_name = source_name;
	if (!gssapi_oid_equals(mech_type, gss_mech_krb5)) {
		/* Dovecot: Kerberos 5 only (not SPNEGO, IAKERB, ...) */
		gssapi_buffer_free(&out);
		gssapi_fail(request, "GSSAPI mechanism is not Kerberos 5");
		return;
	}
	if (state->authn_name == GSS_C_NO_NAME ||
	    (state->authn_display = gssapi_display_name(request, state->authn_name,
							NULL, "client principal")) == NULL) {
		gssapi_buffer_free(&out);
		gssapi_fail(request, "client principal unknown");
		return;
	}
	if (!auth_request_set_username(request, state->authn_display, &error)) {
		gssapi_buffer_free(&out);
		gssapi_fail(request, "client principal %s: %s", state->authn_display, error);
		return;
	}
	ctx_debug(&request->log, "GSSAPI: security context established for %s",
		  state->authn_display);
	if (out.length > 0) {
		/* RFC 4752 3.1: the client answers our last token with an
		   empty response before the layer negotiation */
		state->step = GSSAPI_STEP_WRAP;
		auth_request_handler_reply_continue(request, out.value, out.length);
		gssapi_buffer_free(&out);
		return;
	}
	gssapi_buffer_free(&out);
	gssapi_send_layer_offer(request);
}

/* Is the principal listed in the passdb field k5principals of the authz
   user? (comma separated, spaces around names ignored) */
static bool gssapi_k5principals_allow(struct auth_request *request,
				      const char *principal)
{
	const char *value = auth_fields_get(request->extra_fields, "k5principals");
	size_t len = strlen(principal);

	if (value == NULL)
		return false;
	for (const char *p = value; *p != '\0';) {
		while (*p == ',' || *p == ' ')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',')
			p++;
		const char *end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if ((size_t)(end - start) == len && memcmp(start, principal, len) == 0) {
			ctx_debug(&request->log, "GSSAPI: %s authorized by the "
				  "k5principals field", principal);
			return true;
		}
	}
	return false;
}

/* krb5_kuserok(): ~user/.k5login, else the principal's local name
   (auth_to_local rules of the realm) must be the user. */
static bool gssapi_krb5_kuserok(struct auth_request *request, const char *principal,
				const char *user)
{
	krb5_context ctx;
	krb5_principal princ;
	krb5_error_code ret;
	bool allowed = false;

	ret = krb5_init_context(&ctx);
	if (ret != 0) {
		auth_request_log_error(request, "GSSAPI: krb5_init_context() failed: "
				       "error %ld", (long)ret);
		return false;
	}
	ret = krb5_parse_name(ctx, principal, &princ);
	if (ret != 0) {
		const char *msg = krb5_get_error_message(ctx, ret);
		auth_request_log_info(request, "GSSAPI: krb5_parse_name(%s) failed: %s",
				      principal, msg);
		krb5_free_error_message(ctx, msg);
	} else {
		allowed = krb5_kuserok(ctx, princ, user) != 0;
		krb5_free_principal(ctx, princ);
	}
	krb5_free_context(ctx);
	return allowed;
}

/* May the client principal act as the (authz) user? */
static bool gssapi_authorized(struct auth_request *request)
{
	struct gssapi_state *state = request->mech_state;
	OM_uint32 major, minor;
	gss_OID name_type = GSS_C_NO_OID;
	int equal = 0;

	major = gss_compare_name(&minor, state->authn_name, state->authz_name, &equal);
	if (GSS_ERROR(major)) {
		auth_request_log_info(request, "GSSAPI: %s",
				      gssapi_error(request, "gss_compare_name()", major, minor));
		return false;
	}
	if (equal != 0)
		return true;

	/* a different user: the principal must be a Kerberos principal name
	   that the user's k5principals or krb5_kuserok() accepts */
	const char *principal = gssapi_display_name(request, state->authn_name,
						    &name_type, "client principal");
	if (principal == NULL)
		return false;
	if (!gssapi_oid_equals(name_type, GSS_KRB5_NT_PRINCIPAL_NAME)) {
		auth_request_log_info(request, "GSSAPI: client name %s is not a "
				      "Kerberos principal name", principal);
		return false;
	}
	return gssapi_k5principals_allow(request, principal) ||
		gssapi_krb5_kuserok(request, principal, request->user);
}

static void gssapi_passdb_callback(struct auth_request *request,
				   enum passdb_result result)
{
	struct gssapi_state *state = request->mech_state;

	i_assert(state->step == GSSAPI_STEP_PASSDB);
	switch (result) {
	case PASSDB_RESULT_INTERNAL_FAILURE:
		state->step = GSSAPI_STEP_DONE;
		auth_request_internal_failure(request);
		return;
	case PASSDB_RESULT_USER_DISABLED:
	case PASSDB_RESULT_PASS_EXPIRED:
		/* explicitly refused (deny passdb, disabled account) */
		state->step = GSSAPI_STEP_DONE;
		auth_request_verify_plain_callback_finish(request, result);
		return;
	case PASSDB_RESULT_OK:
	case PASSDB_RESULT_USER_UNKNOWN:
	case PASSDB_RESULT_SCHEME_NOT_AVAILABLE:
	case PASSDB_RESULT_PASSWORD_MISMATCH:
	case PASSDB_RESULT_NEXT:
		/* Dovecot: GSSAPI needs no passdb entry (the KDC vouched for
		   the principal); the lookup only brings its fields */
		break;
	}
	if (!gssapi_authorized(request)) {
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		gssapi_fail(request, "principal %s is not authorized to log in as %s",
			    state->authn_display, request->user);
		return;
	}
	state->step = GSSAPI_STEP_DONE;
	auth_request_success(request, NULL, 0);
}

/* RFC 4752 3.1: the client's wrapped answer: chosen layer (1 byte),
   its maximum message size (3 bytes), then the optional authzid. */
static void gssapi_unwrap(struct auth_request *request,
			  const unsigned char *data, size_t size)
{
	struct gssapi_state *state = request->mech_state;
	gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor;
	const char *authz_user, *error;

	in.value = (void *)data;
	in.length = size;
	major = gss_unwrap(&minor, state->context, &in, &out, NULL, NULL);
	if (GSS_ERROR(major)) {
		gssapi_buffer_free(&out);
		gssapi_fail(request, "security layer answer: %s",
			    gssapi_error(request, "gss_unwrap()", major, minor));
		return;
	}
	if (out.length < 4) {
		size_t length = out.length;
		gssapi_buffer_free(&out);
		gssapi_fail(request, "security layer answer too short "
			    "(%zu bytes, need at least 4)", length);
		return;
	}
	const unsigned char *answer = out.value;
	/* Only "no layer" was offered. Dovecot does not look at the choice;
	   refusing the layers we didn't offer keeps a client from believing
	   its traffic is protected. (0 is accepted as Dovecot does.) */
	if ((answer[0] & (GSSAPI_LAYER_INTEGRITY | GSSAPI_LAYER_CONFIDENTIALITY)) != 0 ||
	    (answer[0] & ~(GSSAPI_LAYER_NONE | GSSAPI_LAYER_INTEGRITY |
			   GSSAPI_LAYER_CONFIDENTIALITY)) != 0) {
		unsigned int layer = answer[0];
		gssapi_buffer_free(&out);
		gssapi_fail(request, "client chose security layer 0x%02x, but "
			    "only 0x01 (none) was offered", layer);
		return;
	}

	size_t name_len = out.length - 4;
	const unsigned char *name = answer + 4;
	/* one trailing NUL tolerated, as for display names */
	if (name_len > 0 && name[name_len - 1] == '\0')
		name_len--;
	if (memchr(name, '\0', name_len) != NULL) {
		gssapi_buffer_free(&out);
		gssapi_fail(request, "authorization id contains NUL");
		return;
	}
	if (name_len > 0) {
		gss_buffer_desc buf;

		authz_user = pool_strndup(request->pool, (const char *)name, name_len);
		buf.value = (void *)authz_user;
		buf.length = name_len;
		/* the default name type: a Kerberos principal, the default
		   realm added when it has none */
		major = gss_import_name(&minor, &buf, GSS_C_NO_OID, &state->authz_name);
		if (GSS_ERROR(major)) {
			state->authz_name = GSS_C_NO_NAME;
			gssapi_buffer_free(&out);
			gssapi_fail(request, "authorization id %s: %s", authz_user,
				    gssapi_error(request, "gss_import_name()", major, minor));
			return;
		}
	} else {
		authz_user = state->authn_display;
		major = gss_duplicate_name(&minor, state->authn_name, &state->authz_name);
		if (GSS_ERROR(major)) {
			state->authz_name = GSS_C_NO_NAME;
			gssapi_buffer_free(&out);
			gssapi_fail(request, "%s", gssapi_error(request, "gss_duplicate_name()",
								major, minor));
			return;
		}
	}
	gssapi_buffer_free(&out);

	/* the passdb and the userdb see the authz user (Dovecot) */
	if (!auth_request_set_username(request, authz_user, &error)) {
		gssapi_fail(request, "authorization id %s: %s", authz_user, error);
		return;
	}
	if (request->requested_login_user != NULL) {
		/* "target*master" through auth_master_user_separator: master
		   logins need the master passdbs, which GSSAPI doesn't run */
		auth_fields_set(request->extra_fields, "code", "authz_fail");
		gssapi_fail(request, "login as another user (%s) with a master "
			    "user separator is not supported with GSSAPI",
			    request->requested_login_user);
		return;
	}
	state->step = GSSAPI_STEP_PASSDB;
	auth_request_lookup_passdb(request, gssapi_passdb_callback);
}

static void gssapi_continue(struct auth_request *request,
			    const unsigned char *data, size_t size)
{
	struct gssapi_state *state = request->mech_state;

	if (size > GSSAPI_MAX_TOKEN_SIZE) {
		gssapi_fail(request, "client token too long (%zu > %d bytes)",
			    size, GSSAPI_MAX_TOKEN_SIZE);
		return;
	}
	switch (state->step) {
	case GSSAPI_STEP_SEC_CONTEXT:
		gssapi_sec_context(request, data, size);
		return;
	case GSSAPI_STEP_WRAP:
		/* RFC 4752 3.1 wants it empty; Dovecot ignores the content */
		if (size > 0)
			ctx_debug(&request->log, "GSSAPI: ignoring %zu bytes in "
				  "the answer to the last context token", size);
		gssapi_send_layer_offer(request);
		return;
	case GSSAPI_STEP_UNWRAP:
		gssapi_unwrap(request, data, size);
		return;
	case GSSAPI_STEP_PASSDB:
	case GSSAPI_STEP_DONE:
		break;
	}
	/* the protocol layer passes a CONT only after one of our
	   challenges (request state MECH_CONTINUE) */
	i_unreached();
}

static void gssapi_initial(struct auth_request *request, bool has_initial,
			   const unsigned char *data, size_t size)
{
	struct gssapi_state *state = request->mech_state;

	if (!gssapi_acquire_credentials(request)) {
		state->step = GSSAPI_STEP_DONE;
		auth_request_internal_failure(request);
		return;
	}
	if (!has_initial || size == 0) {
		/* RFC 4752 3.1: the client goes first */
		auth_request_handler_reply_continue(request, NULL, 0);
		return;
	}
	gssapi_continue(request, data, size);
}

static void gssapi_free(struct auth_request *request)
{
	struct gssapi_state *state = request->mech_state;
	OM_uint32 minor;

	if (state == NULL)
		return;
	if (state->context != GSS_C_NO_CONTEXT)
		(void)gss_delete_sec_context(&minor, &state->context, GSS_C_NO_BUFFER);
	if (state->service_cred != GSS_C_NO_CREDENTIAL)
		(void)gss_release_cred(&minor, &state->service_cred);
	gssapi_name_free(&state->authn_name);
	gssapi_name_free(&state->authz_name);
}

const struct sasl_mech sasl_mech_gssapi = {
	.name = "GSSAPI",
	/* Dovecot announces no security flags; tokens are binary */
	.flags = SASL_MECH_ALLOW_NULS,
	.passdb_need = SASL_MECH_NEED_NOTHING,
	.state_size = sizeof(struct gssapi_state),
	.auth_initial = gssapi_initial,
	.auth_continue = gssapi_continue,
	.auth_free = gssapi_free,
};
