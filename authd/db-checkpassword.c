/* checkpassword programs, run from the event loop (see db-checkpassword.h). */
#include "lib.h"
#include "array.h"
#include "pool.h"
#include "str.h"
#include "path-error.h"
#include "auth.h"
#include "auth-fields.h"
#include "auth-request.h"
#include "child-wait.h"
#include "db-checkpassword.h"

#include <event2/event.h>
#include <event2/util.h>
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* DJB: "at most 512 bytes" on fd 3 */
#define CHECKPASSWORD_MAX_REQUEST_LEN 512
#define CHECKPASSWORD_MAX_REPLY_LEN (64 * 1024)
#define CHECKPASSWORD_DEFAULT_TIMEOUT_SECS 60
#define CHECKPASSWORD_REPLY_NAME "checkpassword-reply"
/* exit status of our child when execve() failed (the errno goes through
   a close-on-exec pipe) */
#define CHECKPASSWORD_EXEC_FAILED 127

struct chkpw_request;

struct db_checkpassword {
	const char *command;        /* template: program and its arguments */
	const char *reply_path;
	unsigned int timeout_secs;
	struct chkpw_request *requests;
};

struct chkpw_request {
	struct db_checkpassword *db;
	struct auth_request *request;
	db_checkpassword_callback_t *callback;
	void *context;
	bool lookup;
	char *program;              /* argv[0], for messages */

	pid_t pid;
	int fd_in, fd_err;          /* reply (its fd 4), exec errno */
	struct event *input, *timeout;
	struct child_wait *wait;
	string_t *reply;
	int exit_status;
	bool exited;

	struct chkpw_request *prev, *next;
};

/* ---- set up ------------------------------------------------------------ */

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Next to the running binary first (a build tree: roost-auth and the
   helper sit side by side), else the installed libexec/roost. */
static const char *find_reply_path(struct pool *pool)
{
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len > 0) {
		self[len] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			char *path = pool_printf(pool, "%s/%s", self, CHECKPASSWORD_REPLY_NAME);
			if (is_executable_file(path))
				return path;
		}
	}
	return LIBEXECDIR "/" CHECKPASSWORD_REPLY_NAME;
}

int db_checkpassword_create(struct pool *pool, const char *args,
			    struct db_checkpassword **db_r, const char **error_r)
{
	struct db_checkpassword *db = pool_alloc(pool, sizeof(*db));
	const char *value;

	db->timeout_secs = CHECKPASSWORD_DEFAULT_TIMEOUT_SECS;
	while (*args == ' ' || *args == '\t')
		args++;
	if (str_begins(args, "timeout=", &value)) {
		const char *end = strchr(value, ' ');
		char *num = pool_strndup(pool, value, end == NULL ? strlen(value) :
					 (size_t)(end - value));
		if (str_to_uint(num, &db->timeout_secs) < 0 || db->timeout_secs == 0 ||
		    db->timeout_secs > 3600) {
			*error_r = pool_printf(pool, "checkpassword: Invalid timeout value: "
					       "%s (seconds, 1..3600)", num);
			return -1;
		}
		args = end == NULL ? "" : end;
		while (*args == ' ' || *args == '\t')
			args++;
	}
	if (*args == '\0') {
		*error_r = "checkpassword: args must be the path of the checkpassword program";
		return -1;
	}
	db->command = pool_strdup(pool, args);
	db->reply_path = find_reply_path(pool);
	*db_r = db;
	return 0;
}

/* ---- finishing ----------------------------------------------------------- */

static void chkpw_request_free(struct chkpw_request *req)
{
	struct db_checkpassword *db = req->db;

	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		db->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	if (req->input != NULL)
		event_free(req->input);
	if (req->timeout != NULL)
		event_free(req->timeout);
	if (req->fd_in != -1)
		(void)close(req->fd_in);
	if (req->fd_err != -1)
		(void)close(req->fd_err);
	if (req->wait != NULL && req->pid > 0) {
		/* still running (timeout, shutdown, bad reply): stop the whole
		   process group; it's reaped in the background */
		child_wait_kill_tree(req->pid);
		(void)kill(-req->pid, SIGKILL);
		child_wait_detach(&req->wait);
	}
	if (req->reply != NULL)
		str_free(&req->reply);
	free(req->program);
	free(req);
}

static void chkpw_finish(struct chkpw_request *req, enum db_checkpassword_status status)
{
	struct auth_request *request = req->request;
	const char *const *fields = NULL;
	ARRAY(const char *) list = ARRAY_INIT;

	if (status == DB_CHECKPASSWORD_STATUS_OK) {
		char *data = (char *)str_c(req->reply);
		char *saveptr = NULL;
		for (char *tok = strtok_r(data, "\t", &saveptr); tok != NULL;
		     tok = strtok_r(NULL, "\t", &saveptr))
			array_push(&list, str_tabunescape(tok));
		array_push(&list, NULL);
		fields = list.v;
	}
	/* unlink first: the callback may start another lookup */
	db_checkpassword_callback_t *callback = req->callback;
	void *context = req->context;
	string_t *reply = req->reply;
	req->reply = NULL;
	chkpw_request_free(req);
	callback(request, status, fields, context);
	array_free(&list);
	if (reply != NULL)
		str_free(&reply);
	auth_request_unref(&request);
}

/* vpopmail's exit codes count as a plain failure, as in Dovecot */
static bool exit_is_failure(int code)
{
	switch (code) {
	case 1: case 3: case 12: case 13: case 15:
	case 20: case 21: case 22: case 23:
		return true;
	default:
		return false;
	}
}

/* The program has exited and its fd 4 is closed: decide. */
static void chkpw_try_finish(struct chkpw_request *req)
{
	struct auth_request *request = req->request;
	int code = req->exit_status;

	if (!req->exited || req->fd_in != -1)
		return;
	if (memchr(str_c(req->reply), '\0', str_len(req->reply)) != NULL) {
		auth_request_log_error(request, "checkpassword: NUL characters in "
				       "the reply of %s", req->program);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		return;
	}
	if (strchr(str_c(req->reply), '\n') != NULL) {
		auth_request_log_error(request, "checkpassword: LF characters in "
				       "the reply of %s", req->program);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		return;
	}
	if (req->lookup) {
		if (code == 3) {
			auth_request_log_info(request, "checkpassword: User unknown");
			chkpw_finish(req, DB_CHECKPASSWORD_STATUS_FAILURE);
		} else if (code == 2 && str_len(req->reply) > 0) {
			chkpw_finish(req, DB_CHECKPASSWORD_STATUS_OK);
		} else if (code == 2) {
			auth_request_log_error(request, "checkpassword: %s (pid %ld) exited "
					       "with status 2, but wrote no reply to fd 4",
					       req->program, (long)req->pid);
			chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		} else {
			auth_request_log_error(request, "checkpassword: %s (pid %ld) exited "
					       "with status %d (a lookup wants 2 = found "
					       "or 3 = unknown user: does the program "
					       "support AUTHORIZED=1?)", req->program,
					       (long)req->pid, code);
			chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		}
		return;
	}
	if (exit_is_failure(code)) {
		auth_request_log_info(request, "checkpassword: Login failed (status=%d)", code);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_FAILURE);
	} else if (code == 0 && str_len(req->reply) > 0) {
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_OK);
	} else if (code == 0) {
		auth_request_log_error(request, "checkpassword: %s (pid %ld) exited with "
				       "status 0, but wrote no reply to fd 4 (it must run "
				       "its first argument, checkpassword-reply, on success)",
				       req->program, (long)req->pid);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
	} else if (code == 2) {
		auth_request_log_error(request, "checkpassword: %s (pid %ld) exited with "
				       "status 2 (tried to use a userdb-only checkpassword "
				       "program for passdb?)", req->program, (long)req->pid);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
	} else {
		auth_request_log_error(request, "checkpassword: %s (pid %ld) exited with "
				       "status %d%s", req->program, (long)req->pid, code,
				       code == 111 ? " (temporary failure)" : "");
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
	}
}

/* ---- events ---------------------------------------------------------- */

static void chkpw_input(evutil_socket_t fd, short what ATTR_UNUSED, void *context)
{
	struct chkpw_request *req = context;
	char buf[1024];
	ssize_t ret = read(fd, buf, sizeof(buf));

	if (ret < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (ret > 0) {
		str_append_n(req->reply, buf, (size_t)ret);
		if (str_overflowed(req->reply)) {
			auth_request_log_error(req->request, "checkpassword: the reply of %s "
					       "is longer than %u bytes", req->program,
					       CHECKPASSWORD_MAX_REPLY_LEN);
			chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		}
		return;
	}
	if (ret < 0) {
		auth_request_log_error(req->request, "checkpassword: read(fd 4 of %s) "
				       "failed: %s", req->program, strerror(errno));
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		return;
	}
	/* not the text: a credentials lookup has the password in it */
	auth_request_log_debug(req->request, "checkpassword: received %zu bytes",
			       str_len(req->reply));
	event_free(req->input);
	req->input = NULL;
	(void)close(req->fd_in);
	req->fd_in = -1;
	chkpw_try_finish(req);
}

static void chkpw_exited(pid_t pid, int status, void *context)
{
	struct chkpw_request *req = context;
	int exec_errno = 0;

	req->wait = NULL;
	req->exited = true;
	if (read(req->fd_err, &exec_errno, sizeof(exec_errno)) == (ssize_t)sizeof(exec_errno) &&
	    exec_errno != 0) {
		char *error = path_error("execv", req->program, exec_errno);
		auth_request_log_error(req->request, "checkpassword: %s", error);
		free(error);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		return;
	}
	if (status == -1 || !WIFEXITED(status)) {
		char *text = child_wait_status_text(status);
		auth_request_log_error(req->request, "checkpassword: %s (pid %ld) %s",
				       req->program, (long)pid, text);
		free(text);
		chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
		return;
	}
	req->exit_status = WEXITSTATUS(status);
	auth_request_log_debug(req->request, "checkpassword: exit_status=%d",
			       req->exit_status);
	chkpw_try_finish(req);
}

static void chkpw_timeout(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			  void *context)
{
	struct chkpw_request *req = context;

	auth_request_log_error(req->request, "checkpassword: %s (pid %ld) didn't "
			       "finish in %u secs: killing it", req->program,
			       (long)req->pid, req->db->timeout_secs);
	chkpw_finish(req, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
}

static void chkpw_fail_later(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			     void *context)
{
	struct chkpw_request *req = context;
	chkpw_finish(req, req->exit_status == 1 ? DB_CHECKPASSWORD_STATUS_FAILURE :
		     DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
}

/* ---- starting the program ------------------------------------------- */

typedef ARRAY(char *) env_array_t;

static void env_add(env_array_t *env, const char *name, const char *value)
{
	array_push(env, x_printf("%s=%s", name, value));
}

static const char *const auth_var_names[] = {
	"user", "username", "domain", "service", "home", "lip", "rip", "pid",
	"mech", "secured", "lport", "rport", "orig_user", "session",
	"real_lip", "real_rip",
};

static char *str_upper(const char *s)
{
	char *copy = x_strdup(s);
	for (char *p = copy; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return copy;
}

/* The environment for the program: the daemon's plus the request's. */
static char **chkpw_build_env(struct auth_request *request, const char *credentials_scheme,
			      bool lookup)
{
	env_array_t env = ARRAY_INIT;
	char num[32];

	env_add(&env, "PROTO", "TCP");   /* UCSPI */
	(void)snprintf(num, sizeof(num), "%ld", (long)getuid());
	env_add(&env, "ORIG_UID", num);
	env_add(&env, "SERVICE", request->service != NULL ? request->service : "");
	if (request->local_ip != NULL && *request->local_ip != '\0') {
		env_add(&env, "TCPLOCALIP", request->local_ip);
		env_add(&env, "LOCAL_IP", request->local_ip);
	}
	if (request->remote_ip != NULL && *request->remote_ip != '\0') {
		env_add(&env, "TCPREMOTEIP", request->remote_ip);
		env_add(&env, "REMOTE_IP", request->remote_ip);
	}
	if (request->local_port != 0) {
		(void)snprintf(num, sizeof(num), "%u", request->local_port);
		env_add(&env, "TCPLOCALPORT", num);
	}
	if (request->remote_port != 0) {
		(void)snprintf(num, sizeof(num), "%u", request->remote_port);
		env_add(&env, "TCPREMOTEPORT", num);
	}
	if (request->master_user != NULL)
		env_add(&env, "MASTER_USER", request->master_user);
	if (lookup) {
		env_add(&env, "AUTHORIZED", "1");
		if (credentials_scheme != NULL) {
			env_add(&env, "CREDENTIALS_LOOKUP", "1");
			env_add(&env, "SCHEME", credentials_scheme);
		}
	}
	/* extra fields set by earlier passdbs */
	for (size_t i = 0; i < request->extra_fields->fields.count; i++) {
		const struct auth_field *field = &request->extra_fields->fields.v[i];
		if (*field->key == '\0' || strchr(field->key, '=') != NULL)
			continue;
		char *name = str_upper(field->key);
		env_add(&env, name, field->value != NULL ? field->value : "1");
		free(name);
	}
	/* %{variables}, except the password */
	string_t *str = str_create(64);
	for (size_t i = 0; i < N_ELEMENTS(auth_var_names); i++) {
		char *template = x_printf("%%{%s}", auth_var_names[i]);
		const char *error;
		str_clear(str);
		if (auth_request_var_expand(str, template, request, &error) == 0 &&
		    str_len(str) > 0) {
			char *name = str_upper(auth_var_names[i]);
			char *full = x_printf("AUTH_%s", name);
			env_add(&env, full, str_c(str));
			free(full);
			free(name);
		}
		free(template);
	}
	str_free(&str);

	/* from the daemon's own environment only these, as Dovecot's auth
	   process has a clean one: an inherited USER or HOME would otherwise
	   reach checkpassword-reply as the user's */
	static const char *const inherit[] = { "PATH", "TZ", "LANG", "LC_ALL" };
	for (size_t i = 0; i < N_ELEMENTS(inherit); i++) {
		const char *value = getenv(inherit[i]);
		if (value != NULL)
			env_add(&env, inherit[i], value);
		else if (strcmp(inherit[i], "PATH") == 0)
			env_add(&env, "PATH", "/usr/local/bin:/usr/bin:/bin");
	}
	array_push(&env, NULL);
	return env.v;
}

static void strv_free(char **v)
{
	for (char **p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

/* In the child: fd 3 = request, fd 4 = reply; nothing else of ours. Only
   async-signal-safe calls here (the daemon has threads). */
static void ATTR_NORETURN chkpw_child(int fd_request, int fd_reply, int fd_err,
				      char **argv, char **envp)
{
	sigset_t none;
	int err;

	(void)setpgid(0, 0);
	/* inherited SIG_IGN survives exec; blocked signals too */
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* above every fd we'll use, so the dup2()s don't clobber each other */
	int high_request = fcntl(fd_request, F_DUPFD, 10);
	int high_reply = fcntl(fd_reply, F_DUPFD, 10);
	int high_err = fcntl(fd_err, F_DUPFD_CLOEXEC, 10);
	if (high_request < 0 || high_reply < 0 || high_err < 0 ||
	    dup2(high_request, 3) < 0 || dup2(high_reply, 4) < 0 ||
	    dup2(high_err, 5) < 0)
		goto failed;
	(void)fcntl(5, F_SETFD, FD_CLOEXEC);
	(void)close_range(6, ~0U, 0);
	execve(argv[0], argv, envp);
failed:
	err = errno;
	(void)write(5, &err, sizeof(err));
	_exit(CHECKPASSWORD_EXEC_FAILED);
}

static char **chkpw_build_argv(struct db_checkpassword *db, struct auth_request *request)
{
	string_t *cmd = str_create(256);
	const char *error;

	if (auth_request_var_expand(cmd, db->command, request, &error) < 0) {
		auth_request_log_error(request, "checkpassword: Failed to expand %s: %s",
				       db->command, error);
		str_free(&cmd);
		return NULL;
	}
	str_printfa(cmd, " %s", db->reply_path);
	ARRAY(char *) argv = ARRAY_INIT;
	char *saveptr = NULL;
	for (char *tok = strtok_r((char *)str_c(cmd), " ", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " ", &saveptr))
		array_push(&argv, x_strdup(tok));
	array_push(&argv, NULL);
	str_free(&cmd);
	return argv.v;
}

static void chkpw_fail_soon(struct chkpw_request *req, struct event_base *base,
			    bool failure)
{
	req->exit_status = failure ? 1 : -1;
	req->timeout = evtimer_new(base, chkpw_fail_later, req);
	struct timeval now = { 0, 0 };
	evtimer_add(req->timeout, &now);
}

void db_checkpassword_call(struct db_checkpassword *db, struct auth_request *request,
			   const char *password, const char *credentials_scheme,
			   db_checkpassword_callback_t *callback, void *context)
{
	struct event_base *base = request->auth->base;
	struct chkpw_request *req = x_malloc(sizeof(*req));

	req->db = db;
	req->request = request;
	req->callback = callback;
	req->context = context;
	req->lookup = password == NULL;
	req->fd_in = -1;
	req->fd_err = -1;
	req->reply = str_create_max(256, CHECKPASSWORD_MAX_REPLY_LEN);
	req->program = x_strdup("checkpassword");
	auth_request_ref(request);
	req->next = db->requests;
	if (db->requests != NULL)
		db->requests->prev = req;
	db->requests = req;

	/* <user> \0 <password> \0 <timestamp: empty> \0 */
	const char *user = request->user != NULL ? request->user : "";
	size_t user_len = strlen(user), pass_len = password == NULL ? 0 : strlen(password);
	size_t len = user_len + pass_len + 3;
	if (len > CHECKPASSWORD_MAX_REQUEST_LEN) {
		auth_request_log_info(request, "checkpassword: Username+password "
				      "combination too long (%zu bytes)", len);
		chkpw_fail_soon(req, base, true);
		return;
	}
	unsigned char data[CHECKPASSWORD_MAX_REQUEST_LEN];
	memset(data, 0, sizeof(data));
	memcpy(data, user, user_len);
	if (password != NULL)
		memcpy(data + user_len + 1, password, pass_len);

	char **argv = chkpw_build_argv(db, request);
	if (argv == NULL) {
		explicit_bzero(data, sizeof(data));
		chkpw_fail_soon(req, base, false);
		return;
	}
	free(req->program);
	req->program = x_strdup(argv[0]);
	char **envp = chkpw_build_env(request, credentials_scheme, req->lookup);

	int to_child[2] = { -1, -1 }, from_child[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0 ||
	    pipe2(err_pipe, O_CLOEXEC) < 0) {
		auth_request_log_error(request, "checkpassword: pipe() failed: %s",
				       strerror(errno));
		goto fail_fds;
	}
	auth_request_log_debug(request, "checkpassword: execute: %s %s (%s)",
			       argv[0], argv[1] != NULL ? "..." : "",
			       req->lookup ? "lookup" : "verify");
	pid_t pid = fork();
	if (pid < 0) {
		auth_request_log_error(request, "checkpassword: fork() failed: %s",
				       strerror(errno));
		goto fail_fds;
	}
	if (pid == 0)
		chkpw_child(to_child[0], from_child[1], err_pipe[1], argv, envp);
	(void)setpgid(pid, pid);   /* the child does it too; whoever is first */
	strv_free(argv);
	strv_free(envp);
	(void)close(to_child[0]);
	(void)close(from_child[1]);
	(void)close(err_pipe[1]);
	req->pid = pid;
	req->fd_in = from_child[0];
	req->fd_err = err_pipe[0];
	(void)evutil_make_socket_nonblocking(req->fd_err);

	/* at most 512 bytes into an empty pipe: never blocks, never short */
	(void)evutil_make_socket_nonblocking(to_child[1]);
	if (write(to_child[1], data, len) != (ssize_t)len) {
		/* the program didn't want it (closed fd 3): its exit code tells */
		auth_request_log_debug(request, "checkpassword: write(fd 3) failed: %s",
				       strerror(errno));
	}
	explicit_bzero(data, sizeof(data));
	(void)close(to_child[1]);

	req->wait = child_wait_add(base, pid, chkpw_exited, req);
	if (req->wait == NULL) {
		auth_request_log_error(request, "checkpassword: watching process %ld "
				       "failed: %s", (long)pid, strerror(errno));
		(void)kill(-pid, SIGKILL);
		child_wait_reap_blocking(pid);
		chkpw_fail_soon(req, base, false);
		return;
	}
	(void)evutil_make_socket_nonblocking(req->fd_in);
	req->input = event_new(base, req->fd_in, EV_READ | EV_PERSIST, chkpw_input, req);
	event_add(req->input, NULL);
	req->timeout = evtimer_new(base, chkpw_timeout, req);
	struct timeval tv = { (time_t)db->timeout_secs, 0 };
	evtimer_add(req->timeout, &tv);
	return;

fail_fds:
	explicit_bzero(data, sizeof(data));
	strv_free(argv);
	strv_free(envp);
	int *all[] = { to_child, from_child, err_pipe };
	for (size_t i = 0; i < N_ELEMENTS(all); i++) {
		if (all[i][0] != -1)
			(void)close(all[i][0]);
		if (all[i][1] != -1)
			(void)close(all[i][1]);
	}
	chkpw_fail_soon(req, base, false);
}

void db_checkpassword_destroy(struct db_checkpassword **_db)
{
	struct db_checkpassword *db = *_db;

	if (db == NULL)
		return;
	*_db = NULL;
	while (db->requests != NULL)
		chkpw_finish(db->requests, DB_CHECKPASSWORD_STATUS_INTERNAL_FAILURE);
	child_wait_deinit();
}
