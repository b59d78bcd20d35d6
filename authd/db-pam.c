/* PAM worker processes (see db-pam.h). */
#include "lib.h"
#include "auth.h"
#include "auth-settings.h"
#include "auth-request.h"
#include "child-wait.h"
#include "db-pam.h"

#include <event2/event.h>
#include <event2/util.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* request: service, user, password, remote ip */
#define PAM_REQUEST_FIELDS 5
#define PAM_REQUEST_TAG "R"
/* reply: result, pam status, failed call, pam_strerror, PAM_USER, message */
#define PAM_REPLY_FIELDS 7
#define PAM_REPLY_TAG "A"
/* PAM_TTY: Dovecot's value, so existing pam_access rules keep matching */
#define PAM_TTY_NAME "dovecot"
#define PAM_MESSAGE_MAX 256

enum pam_worker_state {
	PAM_WORKER_IDLE,
	PAM_WORKER_BUSY,
	PAM_WORKER_DYING,       /* socket closed, waiting to reap it */
};

struct pam_job;

struct pam_worker {
	struct db_pam *db;
	pid_t pid;
	int fd;
	struct event *input;
	struct child_wait *wait;
	enum pam_worker_state state;
	bool expected_exit;     /* we retired or killed it */
	unsigned int requests;
	struct pam_job *job;
	struct pam_worker *prev, *next;
};

struct pam_job {
	struct db_pam *db;
	struct auth_request *request;
	db_pam_callback_t *callback;
	void *context;
	unsigned char *msg;     /* the request message (has the password) */
	size_t msg_len;
	struct event *timeout;
	struct pam_worker *worker;
	struct pam_job *next;   /* queue */
};

struct db_pam {
	struct db_pam_settings set;
	struct event_base *base;
	unsigned int max_workers;
	unsigned int live_workers;  /* idle + busy */
	struct pam_worker *workers;
	struct pam_job *queue_head, *queue_tail;
};

static void db_pam_dispatch(struct db_pam *db);

/* ---- messages ------------------------------------------------------------ */

size_t pam_msg_build(unsigned char *buf, size_t size,
		     const char *const *fields, unsigned int count)
{
	size_t pos = 0;

	for (unsigned int i = 0; i < count; i++) {
		size_t len = strlen(fields[i]);
		if (len >= size - pos)
			return 0;
		memcpy(buf + pos, fields[i], len + 1);
		pos += len + 1;
	}
	return pos;
}

int pam_msg_parse(unsigned char *data, size_t size, const char **fields_r,
		  unsigned int count)
{
	size_t pos = 0;

	if (size == 0 || data[size - 1] != '\0')
		return -1;
	for (unsigned int i = 0; i < count; i++) {
		if (pos >= size)
			return -1;
		fields_r[i] = (const char *)data + pos;
		pos += strlen(fields_r[i]) + 1;
	}
	return pos == size ? 0 : -1;
}

/* ---- the worker process ------------------------------------------------ */

struct pam_conv_context {
	const char *user;
	const char *password;
	bool keep_message;
	char message[PAM_MESSAGE_MAX];
	bool have_error_message;
};

static void pam_responses_free(struct pam_response *resp, int count)
{
	for (int i = 0; i < count; i++) {
		if (resp[i].resp != NULL) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
}

static void conv_keep_message(struct pam_conv_context *ctx, const char *msg,
			      bool error_message)
{
	if (!ctx->keep_message || msg == NULL || *msg == '\0')
		return;
	/* a module's error message beats the password prompt */
	if (ctx->have_error_message && !error_message)
		return;
	(void)snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
	ctx->have_error_message = error_message;
}

static int pam_worker_conv(int num_msg, const struct pam_message **msg,
			   struct pam_response **resp_r, void *appdata_ptr)
{
	struct pam_conv_context *ctx = appdata_ptr;
	struct pam_response *resp;

	*resp_r = NULL;
	if (num_msg <= 0)
		return PAM_CONV_ERR;
	resp = calloc((size_t)num_msg, sizeof(*resp));
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		const char *answer = NULL;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
			/* asking for the user name, which PAM normally knows */
			answer = ctx->user;
			break;
		case PAM_PROMPT_ECHO_OFF:
			/* asking for the password */
			conv_keep_message(ctx, msg[i]->msg, false);
			answer = ctx->password;
			break;
		case PAM_ERROR_MSG:
			conv_keep_message(ctx, msg[i]->msg, true);
			break;
		case PAM_TEXT_INFO:
			break;
		default:
			pam_responses_free(resp, i);
			return PAM_CONV_ERR;
		}
		if (answer != NULL) {
			resp[i].resp = strdup(answer);
			if (resp[i].resp == NULL) {
				pam_responses_free(resp, i);
				return PAM_BUF_ERR;
			}
		}
		resp[i].resp_retcode = PAM_SUCCESS;
	}
	*resp_r = resp;
	return PAM_SUCCESS;
}

/* Dovecot 2.3's mapping, except that errors which are not a verdict about
   the user (PAM_SYSTEM_ERR, PAM_AUTHINFO_UNAVAIL, PAM_ABORT, unknown
   service ...) are internal failures here: the client gets a temporary
   failure and result_internalfail applies, instead of "wrong password". */
static enum passdb_result pam_status_result(int status)
{
	switch (status) {
	case PAM_SUCCESS:
		return PASSDB_RESULT_OK;
	case PAM_USER_UNKNOWN:
		return PASSDB_RESULT_USER_UNKNOWN;
	case PAM_AUTH_ERR:
	case PAM_PERM_DENIED:
	case PAM_MAXTRIES:
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_ACCT_EXPIRED:
		return PASSDB_RESULT_PASS_EXPIRED;
	default:
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
}

static int pam_worker_run(const struct db_pam_settings *set, pam_handle_t *pamh,
			  const char **call_r)
{
	int status;

	*call_r = "pam_authenticate";
	if ((status = pam_authenticate(pamh, 0)) != PAM_SUCCESS)
		return status;
	if (set->setcred) {
		*call_r = "pam_setcred";
		if ((status = pam_setcred(pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
			return status;
	}
	*call_r = "pam_acct_mgmt";
	if ((status = pam_acct_mgmt(pamh, 0)) != PAM_SUCCESS)
		return status;
	if (set->session) {
		*call_r = "pam_open_session";
		if ((status = pam_open_session(pamh, 0)) != PAM_SUCCESS)
			return status;
		*call_r = "pam_close_session";
		if ((status = pam_close_session(pamh, 0)) != PAM_SUCCESS)
			return status;
	}
	*call_r = "";
	return PAM_SUCCESS;
}

/* One conversation; fields are the parsed request. Writes the reply. */
static void pam_worker_handle(const struct db_pam_settings *set, int fd,
			      const char *const *fields)
{
	const char *service = fields[1], *user = fields[2];
	const char *password = fields[3], *rip = fields[4];
	struct pam_conv_context ctx = {
		.user = user, .password = password,
		.keep_message = set->failure_show_msg,
	};
	struct pam_conv conv = { .conv = pam_worker_conv, .appdata_ptr = &ctx };
	pam_handle_t *pamh = NULL;
	const char *call = "pam_start", *error = "";
	const void *pam_user_item = NULL;
	char pam_user[PAM_MESSAGE_MAX] = "", error_buf[PAM_MESSAGE_MAX] = "";
	int status;

	status = pam_start(service, user, &conv, &pamh);
	if (status == PAM_SUCCESS) {
		/* these shouldn't fail, and nothing depends on them */
		if (*rip != '\0')
			(void)pam_set_item(pamh, PAM_RHOST, rip);
		(void)pam_set_item(pamh, PAM_RUSER, user);
		(void)pam_set_item(pamh, PAM_TTY, PAM_TTY_NAME);
		status = pam_worker_run(set, pamh, &call);
		if (status == PAM_SUCCESS &&
		    pam_get_item(pamh, PAM_USER, &pam_user_item) == PAM_SUCCESS &&
		    pam_user_item != NULL)
			(void)snprintf(pam_user, sizeof(pam_user), "%s",
				       (const char *)pam_user_item);
	}
	if (status != PAM_SUCCESS) {
		(void)snprintf(error_buf, sizeof(error_buf), "%s",
			       pam_strerror(pamh, status));
		error = error_buf;
	}
	if (pamh != NULL) {
		int status2 = pam_end(pamh, status);
		if (status2 != PAM_SUCCESS && status == PAM_SUCCESS) {
			status = status2;
			call = "pam_end";
			(void)snprintf(error_buf, sizeof(error_buf), "%s",
				       pam_strerror(NULL, status2));
			error = error_buf;
		}
	}

	enum passdb_result result = pam_status_result(status);
	char result_str[16], status_str[16];
	(void)snprintf(result_str, sizeof(result_str), "%d", (int)result);
	(void)snprintf(status_str, sizeof(status_str), "%d", status);
	const char *reply[PAM_REPLY_FIELDS] = {
		PAM_REPLY_TAG, result_str, status_str, call, error, pam_user,
		result == PASSDB_RESULT_OK ? "" : ctx.message,
	};
	unsigned char buf[PAM_MSG_MAX_SIZE];
	size_t len = pam_msg_build(buf, sizeof(buf), reply, PAM_REPLY_FIELDS);
	i_assert(len > 0);   /* every field is bounded well below the size */
	if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		_exit(1);
}

static void ATTR_NORETURN pam_worker_main(const struct db_pam_settings *set, int fd)
{
	unsigned char buf[PAM_MSG_MAX_SIZE];
	const char *fields[PAM_REQUEST_FIELDS];

	for (;;) {
		ssize_t ret = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			_exit(0);    /* roost-auth closed the socket: retired */
		if ((size_t)ret > sizeof(buf) ||
		    pam_msg_parse(buf, (size_t)ret, fields, PAM_REQUEST_FIELDS) < 0 ||
		    strcmp(fields[0], PAM_REQUEST_TAG) != 0)
			_exit(2);
		pam_worker_handle(set, fd, fields);
		explicit_bzero(buf, sizeof(buf));
	}
}

/* In the new child: a clean signal state and no descriptors but fd. */
static void pam_worker_child_setup(int fd, pid_t parent)
{
	static const int signals[] = {
		SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD, SIGALRM,
	};
	sigset_t none;

	for (size_t i = 0; i < N_ELEMENTS(signals); i++)
		(void)signal(signals[i], SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* own process group: a timeout kills what a module started too
	   (pam_exec's children) */
	(void)setpgid(0, 0);
	/* don't outlive roost-auth (and don't miss its death in between) */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* no listeners, client connections, log files or pipes of roost-auth
	   stay open in a process that may hang for a while */
	if (fd > 3)
		(void)close_range(3, (unsigned int)fd - 1, 0);
	(void)close_range((unsigned int)fd + 1, ~0U, 0);
}

/* ---- the parent side ----------------------------------------------------- */

static void pam_job_finish(struct pam_job *job, const struct db_pam_reply *reply)
{
	struct auth_request *request = job->request;

	if (job->timeout != NULL)
		event_free(job->timeout);
	if (job->msg != NULL)
		x_free_secret(job->msg, job->msg_len);
	job->callback(request, reply, job->context);
	auth_request_unref(&request);
	free(job);
}

static void pam_job_fail(struct pam_job *job)
{
	const struct db_pam_reply reply = {
		.result = PASSDB_RESULT_INTERNAL_FAILURE,
		.call = "", .error = "", .pam_user = "", .message = "",
	};
	pam_job_finish(job, &reply);
}

static void pam_queue_remove(struct db_pam *db, struct pam_job *job)
{
	struct pam_job **p = &db->queue_head, *prev = NULL;

	for (; *p != NULL; prev = *p, p = &(*p)->next) {
		if (*p == job) {
			*p = job->next;
			if (db->queue_tail == job)
				db->queue_tail = prev;
			job->next = NULL;
			return;
		}
	}
}

static void pam_worker_free(struct pam_worker *worker)
{
	struct db_pam *db = worker->db;

	if (worker->prev != NULL)
		worker->prev->next = worker->next;
	else
		db->workers = worker->next;
	if (worker->next != NULL)
		worker->next->prev = worker->prev;
	free(worker);
}

/* Stop using the worker: close its socket (an idle worker then exits by
   itself), optionally SIGKILL it. It's freed once reaped. Its job, if any,
   is the caller's business. */
static void pam_worker_stop(struct pam_worker *worker, bool kill_it, bool expected)
{
	if (worker->state == PAM_WORKER_DYING)
		return;
	worker->state = PAM_WORKER_DYING;
	worker->expected_exit = expected;
	worker->job = NULL;
	worker->db->live_workers--;
	event_free(worker->input);
	worker->input = NULL;
	(void)close(worker->fd);
	worker->fd = -1;
	if (kill_it) {
		child_wait_kill_tree(worker->pid);
		(void)kill(-worker->pid, SIGKILL);
	}
}

static void pam_worker_exited(pid_t pid, int status, void *context)
{
	struct pam_worker *worker = context;
	struct db_pam *db = worker->db;

	worker->wait = NULL;   /* freed by child-wait after we return */
	if (worker->state != PAM_WORKER_DYING) {
		/* exited before we saw its socket close */
		struct pam_job *job = worker->job;
		pam_worker_stop(worker, false, false);
		if (job != NULL) {
			auth_request_log_error(job->request, "pam: PAM worker process %ld "
					       "ended in the middle of the conversation",
					       (long)pid);
			pam_job_fail(job);
		}
	}
	/* a retired worker exits with 0, a killed one by SIGKILL: anything
	   else is worth a line */
	bool killed = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	if (!worker->expected_exit || (status != 0 && !killed)) {
		char *text = child_wait_status_text(status);
		log_error("pam: PAM worker process %ld %s", (long)pid, text);
		free(text);
	}
	pam_worker_free(worker);
	db_pam_dispatch(db);
}

static void pam_worker_input(evutil_socket_t fd, short what ATTR_UNUSED, void *context)
{
	struct pam_worker *worker = context;
	struct db_pam *db = worker->db;
	unsigned char buf[PAM_MSG_MAX_SIZE];
	const char *fields[PAM_REPLY_FIELDS];
	struct pam_job *job = worker->job;
	ssize_t ret;

	ret = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (ret < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (ret <= 0) {
		const char *why = ret < 0 ? strerror(errno) : "it closed the connection";
		/* not killed: its exit status says what happened */
		pam_worker_stop(worker, false, false);
		if (job != NULL) {
			auth_request_log_error(job->request, "pam: PAM worker process %ld "
					       "died during the conversation (%s)",
					       (long)worker->pid, why);
			pam_job_fail(job);
		}
		db_pam_dispatch(db);
		return;
	}
	int value, status;
	if (job == NULL || (size_t)ret > sizeof(buf) ||
	    pam_msg_parse(buf, (size_t)ret, fields, PAM_REPLY_FIELDS) < 0 ||
	    strcmp(fields[0], PAM_REPLY_TAG) != 0 ||
	    sscanf(fields[1], "%d", &value) != 1 || sscanf(fields[2], "%d", &status) != 1) {
		log_error("pam: PAM worker process %ld sent an invalid reply "
			  "(%zd bytes%s): killing it", (long)worker->pid, ret,
			  job == NULL ? ", none was expected" : "");
		pam_worker_stop(worker, true, false);
		if (job != NULL)
			pam_job_fail(job);
		db_pam_dispatch(db);
		return;
	}
	const struct db_pam_reply reply = {
		.result = (enum passdb_result)value,
		.pam_status = status,
		.call = fields[3],
		.error = fields[4],
		.pam_user = fields[5],
		.message = fields[6],
	};
	worker->job = NULL;
	worker->state = PAM_WORKER_IDLE;
	worker->requests++;
	if (db->set.max_requests > 0 && worker->requests >= db->set.max_requests)
		pam_worker_stop(worker, false, true);
	pam_job_finish(job, &reply);
	db_pam_dispatch(db);
}

static struct pam_worker *pam_worker_spawn(struct db_pam *db, const char **error_r)
{
	int fds[2];
	pid_t parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
		*error_r = x_printf("socketpair() failed: %s", strerror(errno));
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		*error_r = x_printf("fork() failed: %s", strerror(errno));
		(void)close(fds[0]);
		(void)close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		pam_worker_child_setup(fds[1], parent);
		pam_worker_main(&db->set, fds[1]);
	}
	(void)close(fds[1]);
	(void)setpgid(pid, pid);   /* the child does it too; whoever is first */

	struct pam_worker *worker = x_malloc(sizeof(*worker));
	worker->db = db;
	worker->pid = pid;
	worker->fd = fds[0];
	worker->state = PAM_WORKER_IDLE;
	worker->wait = child_wait_add(db->base, pid, pam_worker_exited, worker);
	if (worker->wait == NULL) {
		*error_r = x_printf("watching the new PAM worker process %ld failed: %s",
				    (long)pid, strerror(errno));
		(void)close(fds[0]);
		child_wait_reap_blocking(pid);
		free(worker);
		return NULL;
	}
	(void)evutil_make_socket_nonblocking(fds[0]);
	worker->input = event_new(db->base, fds[0], EV_READ | EV_PERSIST,
				  pam_worker_input, worker);
	if (worker->input == NULL || event_add(worker->input, NULL) < 0)
		lib_panic(__FILE__, __LINE__, "pam: event_add() failed");
	worker->next = db->workers;
	if (db->workers != NULL)
		db->workers->prev = worker;
	db->workers = worker;
	db->live_workers++;
	return worker;
}

static void pam_job_timeout(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			    void *context)
{
	struct pam_job *job = context;
	struct db_pam *db = job->db;

	if (job->worker != NULL) {
		auth_request_log_error(job->request, "pam: PAM worker process %ld "
				       "didn't finish the conversation in %u secs "
				       "(a PAM module hangs?): killing it",
				       (long)job->worker->pid, db->set.timeout_secs);
		pam_worker_stop(job->worker, true, true);
	} else {
		auth_request_log_error(job->request, "pam: request timed out after %u "
				       "secs waiting for a free PAM worker process "
				       "(all %u busy; auth_worker_max_count)",
				       db->set.timeout_secs, db->max_workers);
		pam_queue_remove(db, job);
	}
	pam_job_fail(job);
	db_pam_dispatch(db);
}

static void db_pam_dispatch(struct db_pam *db)
{
	while (db->queue_head != NULL) {
		struct pam_worker *worker = NULL;
		const char *error = NULL;

		for (struct pam_worker *w = db->workers; w != NULL; w = w->next) {
			if (w->state == PAM_WORKER_IDLE) {
				worker = w;
				break;
			}
		}
		if (worker == NULL && db->live_workers >= db->max_workers)
			return;
		struct pam_job *job = db->queue_head;
		db->queue_head = job->next;
		if (db->queue_head == NULL)
			db->queue_tail = NULL;
		job->next = NULL;
		if (worker == NULL) {
			worker = pam_worker_spawn(db, &error);
			if (worker == NULL) {
				auth_request_log_error(job->request, "pam: %s", error);
				free((char *)error);
				pam_job_fail(job);
				continue;
			}
		}
		ssize_t ret = send(worker->fd, job->msg, job->msg_len,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
		x_free_secret(job->msg, job->msg_len);
		job->msg = NULL;
		if (ret != (ssize_t)job->msg_len) {
			auth_request_log_error(job->request, "pam: send() to PAM worker "
					       "process %ld failed: %s", (long)worker->pid,
					       ret < 0 ? strerror(errno) : "short write");
			pam_worker_stop(worker, true, true);
			pam_job_fail(job);
			continue;
		}
		worker->state = PAM_WORKER_BUSY;
		worker->job = job;
		job->worker = worker;
	}
}

static void db_pam_job_fail_later(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
				  void *context)
{
	pam_job_fail(context);
}

void db_pam_verify(struct db_pam *db, struct auth_request *request,
		   const char *service, const char *password,
		   db_pam_callback_t *callback, void *context)
{
	struct pam_job *job = x_malloc(sizeof(*job));

	if (db->base == NULL) {
		db->base = request->auth->base;
		db->max_workers = request->auth->set->auth_worker_max_count;
		if (db->max_workers == 0)
			db->max_workers = 1;
	}
	job->db = db;
	job->request = request;
	job->callback = callback;
	job->context = context;
	auth_request_ref(request);

	const char *fields[PAM_REQUEST_FIELDS] = {
		PAM_REQUEST_TAG, service, request->user, password,
		request->remote_ip != NULL ? request->remote_ip : "",
	};
	unsigned char buf[PAM_MSG_MAX_SIZE];
	size_t len = pam_msg_build(buf, sizeof(buf), fields, PAM_REQUEST_FIELDS);
	if (len == 0) {
		auth_request_log_info(request, "pam: user name + password too long "
				      "(limit %u bytes)", PAM_MSG_MAX_SIZE);
		/* still answer from the event loop, not from inside this call */
		job->timeout = evtimer_new(db->base, db_pam_job_fail_later, job);
		struct timeval now = { 0, 0 };
		evtimer_add(job->timeout, &now);
		return;
	}
	job->msg = x_malloc(len);
	memcpy(job->msg, buf, len);
	job->msg_len = len;
	explicit_bzero(buf, sizeof(buf));

	job->timeout = evtimer_new(db->base, pam_job_timeout, job);
	struct timeval tv = { (time_t)db->set.timeout_secs, 0 };
	evtimer_add(job->timeout, &tv);
	if (db->queue_tail != NULL)
		db->queue_tail->next = job;
	else
		db->queue_head = job;
	db->queue_tail = job;
	db_pam_dispatch(db);
}

struct db_pam *db_pam_create(const struct db_pam_settings *set)
{
	struct db_pam *db = x_malloc(sizeof(*db));

	db->set = *set;
	return db;
}

void db_pam_destroy(struct db_pam **_db)
{
	struct db_pam *db = *_db;

	if (db == NULL)
		return;
	*_db = NULL;
	db->max_workers = 0;    /* no new workers from the callbacks below */
	while (db->queue_head != NULL) {
		struct pam_job *job = db->queue_head;
		db->queue_head = job->next;
		pam_job_fail(job);
	}
	db->queue_tail = NULL;
	while (db->workers != NULL) {
		struct pam_worker *worker = db->workers;
		struct pam_job *job = worker->job;
		pam_worker_stop(worker, true, true);
		if (job != NULL)
			pam_job_fail(job);
		child_wait_cancel(&worker->wait);
		pam_worker_free(worker);
	}
	free(db);
}
