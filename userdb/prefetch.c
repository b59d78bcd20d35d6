/* userdb prefetch: the userdb fields the passdb already returned
   (userdb_* extra fields or columns), so a login needs one database query
   instead of two. As in Dovecot 2.3: when the passdb returned none, the
   next userdb is asked (unknown user here); as the only userdb, that is an
   internal failure, since prefetch can't serve lookups without a passdb
   (USER from LMTP or doveadm: add a real userdb after it). */
#include "lib.h"
#include "pool.h"
#include "auth.h"
#include "auth-request.h"
#include "userdb.h"

static int prefetch_preinit(struct pool *pool, const char *args,
			    struct userdb_module **module_r, const char **error_r)
{
	if (args != NULL && *args != '\0') {
		*error_r = "userdb prefetch takes no args";
		return -1;
	}
	*module_r = pool_alloc(pool, sizeof(**module_r));
	return 0;
}

static void prefetch_lookup(struct userdb_module *module ATTR_UNUSED,
			    struct auth_request *request, userdb_callback_t *callback)
{
	if (request->userdb_prefetch_set) {
		ctx_debug(&request->log, "prefetch: userdb fields from the passdb");
		callback(request, USERDB_RESULT_OK);
		return;
	}
	if (request->userdb_idx + 1 >= request->auth->userdbs.count) {
		if (request->mech == NULL)
			auth_request_log_error(request, "prefetch: userdb lookup not possible "
					       "with only userdb prefetch (no passdb ran: "
					       "add another userdb after it)");
		else
			auth_request_log_error(request, "prefetch: passdb didn't return "
					       "userdb entries (userdb_* fields)");
		callback(request, USERDB_RESULT_INTERNAL_FAILURE);
		return;
	}
	ctx_debug(&request->log, "prefetch: passdb didn't return userdb entries, "
		  "trying the next userdb");
	callback(request, USERDB_RESULT_USER_UNKNOWN);
}

const struct userdb_driver userdb_driver_prefetch = {
	.name = "prefetch",
	.available = true,
	.preinit = prefetch_preinit,
	.lookup = prefetch_lookup,
};
