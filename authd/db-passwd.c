/* NSS lookups on the worker pool (see db-passwd.h). */
#include "lib.h"
#include "auth.h"
#include "auth-request.h"
#include "worker-pool.h"
#include "db-passwd.h"

#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PASSWD_BUF_MIN 1024
#define PASSWD_BUF_MAX (1024 * 1024)

struct passwd_job {
	struct worker_job job;
	struct auth_request *request;
	db_passwd_callback_t *callback;
	void *context;
	bool shadow;
	char *user;
	/* results, filled in the worker thread */
	int ret;                 /* 1 found, 0 unknown, -1 error */
	int error;               /* errno */
	char uid[24], gid[24];
	char *name, *password, *home;
	bool expired;
};

bool db_passwd_is_valid_password(const char *password)
{
	return password[0] != '\0' && password[0] != '*' && password[0] != '!';
}

/* getpwnam_r / getspnam_r report "not found" in various ways */
static bool is_not_found(int ret)
{
	return ret == 0 || ret == ENOENT || ret == ESRCH || ret == EBADF || ret == EPERM;
}

static void passwd_job_run(struct worker_job *_job)
{
	struct passwd_job *job = (struct passwd_job *)_job;
	long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = suggested > PASSWD_BUF_MIN ? (size_t)suggested : PASSWD_BUF_MIN;

	for (;;) {
		char *buf = x_malloc(size);
		int ret;

		if (job->shadow) {
			struct spwd sp, *result = NULL;
			ret = getspnam_r(job->user, &sp, buf, size, &result);
			if (result != NULL) {
				/* sp_expire: days since 1970-01-01, -1 = never */
				job->expired = sp.sp_expire > 0 &&
					(time_t)sp.sp_expire * 86400 < time(NULL);
				job->name = x_strdup(sp.sp_namp);
				job->password = x_strdup(sp.sp_pwdp != NULL ? sp.sp_pwdp : "");
			}
		} else {
			struct passwd pw, *result = NULL;
			ret = getpwnam_r(job->user, &pw, buf, size, &result);
			if (result != NULL) {
				(void)snprintf(job->uid, sizeof(job->uid), "%lu",
					       (unsigned long)pw.pw_uid);
				(void)snprintf(job->gid, sizeof(job->gid), "%lu",
					       (unsigned long)pw.pw_gid);
				job->name = x_strdup(pw.pw_name != NULL ? pw.pw_name : job->user);
				job->password = x_strdup(pw.pw_passwd != NULL ? pw.pw_passwd : "");
				job->home = x_strdup(pw.pw_dir != NULL ? pw.pw_dir : "");
			}
		}
		explicit_bzero(buf, size);
		free(buf);
		if (ret == ERANGE && job->name == NULL && size < PASSWD_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (job->name != NULL)
			job->ret = 1;
		else if (is_not_found(ret))
			job->ret = 0;
		else {
			job->ret = -1;
			job->error = ret;
		}
		return;
	}
}

static void passwd_job_done(struct worker_job *_job)
{
	struct passwd_job *job = (struct passwd_job *)_job;
	struct auth_request *request = job->request;
	const struct db_passwd_entry entry = {
		.name = job->name, .password = job->password,
		.uid = job->uid, .gid = job->gid,
		.home = job->home != NULL ? job->home : "",
		.shadow = job->shadow,
		.expired = job->expired,
	};

	if (job->ret < 0) {
		auth_request_log_error(request, "%s: %s(%s) failed: %s",
				       job->shadow ? "shadow" : "passwd",
				       job->shadow ? "getspnam_r" : "getpwnam_r",
				       job->user, strerror(job->error));
	}
	job->callback(request, job->ret, job->ret > 0 ? &entry : NULL, job->context);
	free(job->user);
	free(job->name);
	if (job->password != NULL)
		x_free_secret(job->password, strlen(job->password));
	free(job->home);
	free(job);
	auth_request_unref(&request);
}

void db_passwd_lookup(struct auth_request *request, bool shadow,
		      db_passwd_callback_t *callback, void *context)
{
	struct passwd_job *job = x_malloc(sizeof(*job));

	job->job.run = passwd_job_run;
	job->job.done = passwd_job_done;
	job->request = request;
	job->callback = callback;
	job->context = context;
	job->shadow = shadow;
	job->user = x_strdup(request->user);
	auth_request_ref(request);
	worker_pool_submit(request->auth->workers, &job->job);
}
