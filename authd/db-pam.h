#ifndef ROOST_DB_PAM_H
#define ROOST_DB_PAM_H
/* PAM conversations in a small pool of forked worker processes.

   PAM modules block (network lookups, deliberate fail delays) and can hang
   for good. They run in child processes of roost-auth, one conversation
   at a time per process, so the event loop never waits for them and a
   hung module can be stopped: after timeout_secs the worker is killed
   with SIGKILL and the request fails as an internal (temporary) failure
   with the reason logged. A thread could not be stopped, and a pool of
   hung threads would also starve the slow-hash jobs that share the
   worker threads.

   Bounds: at most max_workers processes (auth_worker_max_count); a
   request waits in a FIFO queue when all are busy and fails after
   timeout_secs in total (queue + conversation). A worker process is
   replaced after max_requests conversations (0 = never) and whenever it
   dies; new ones are forked on demand. Workers die with roost-auth
   (PR_SET_PDEATHSIG) and close every inherited descriptor but their own
   socket.

   Parent <-> worker messages go over a SOCK_SEQPACKET socketpair (one
   send = one message), built and parsed by pam_msg_build()/pam_msg_parse()
   in db-pam.c: NUL-terminated fields, a fixed count per message type,
   at most PAM_MSG_MAX_SIZE bytes. */
#include "lib.h"
#include "passdb.h"

struct auth_request;
struct db_pam;

struct db_pam_settings {
	bool session;            /* pam_open_session + pam_close_session */
	bool setcred;            /* pam_setcred(PAM_ESTABLISH_CRED) */
	bool failure_show_msg;   /* keep PAM's message for the "reason" field */
	unsigned int max_requests;   /* per worker process; 0 = unlimited */
	unsigned int timeout_secs;
};

struct db_pam_reply {
	enum passdb_result result;
	int pam_status;          /* PAM_SUCCESS ... */
	const char *call;        /* the failed call ("pam_authenticate"), or "" */
	const char *error;       /* pam_strerror() of the failure, or "" */
	const char *pam_user;    /* PAM_USER after success, or "" */
	const char *message;     /* failure_show_msg text, or "" */
};

/* reply and its strings live until the callback returns. */
typedef void db_pam_callback_t(struct auth_request *request,
			       const struct db_pam_reply *reply, void *context);

struct db_pam *db_pam_create(const struct db_pam_settings *set);
/* Kills the workers; pending requests get INTERNAL_FAILURE. */
void db_pam_destroy(struct db_pam **db);
/* Authenticate request->user with password against PAM service. The
   callback is always called from the event loop, never from inside this
   call. */
void db_pam_verify(struct db_pam *db, struct auth_request *request,
		   const char *service, const char *password,
		   db_pam_callback_t *callback, void *context);

/* Parent <-> worker message helpers (exposed for the unit test). Returns
   the message length, or 0 if the fields don't fit in size. */
#define PAM_MSG_MAX_SIZE 4096
size_t pam_msg_build(unsigned char *buf, size_t size,
		     const char *const *fields, unsigned int count);
/* Splits data (size bytes) into exactly count fields (pointers into
   data, which is modified). Returns -1 if the message is malformed. */
int pam_msg_parse(unsigned char *data, size_t size, const char **fields_r,
		  unsigned int count);

/* passdb/pam.c (a stub when compiled without libpam) */
extern const struct passdb_driver passdb_driver_pam;

#endif
