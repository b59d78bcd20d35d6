/* Reaping children by pid from the event loop (see child-wait.h). */
#include "lib.h"
#include "log.h"
#include "array.h"
#include "child-wait.h"

#include <event2/event.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CHILD_WAIT_POLL_MSECS 50

struct child_wait {
	pid_t pid;
	int pidfd;                  /* -1: polling */
	struct event *event;
	child_wait_callback_t *callback;
	void *context;
	/* detached waits, so that child_wait_deinit() can finish them */
	struct child_wait *prev, *next;
	bool detached;
};

static struct child_wait *detached_waits;

static void detached_unlink(struct child_wait *wait)
{
	if (!wait->detached)
		return;
	if (wait->prev != NULL)
		wait->prev->next = wait->next;
	else
		detached_waits = wait->next;
	if (wait->next != NULL)
		wait->next->prev = wait->prev;
	wait->detached = false;
}

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static void child_wait_free(struct child_wait *wait)
{
	detached_unlink(wait);
	event_free(wait->event);
	if (wait->pidfd != -1)
		(void)close(wait->pidfd);
	free(wait);
}

static void child_wait_event(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
			     void *context)
{
	struct child_wait *wait = context;
	int status = 0;
	pid_t ret;

	/* readable pidfd: the child has exited, this doesn't block */
	do {
		ret = waitpid(wait->pid, &status, wait->pidfd != -1 ? 0 : WNOHANG);
	} while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return;     /* polling: still running */
	if (ret < 0) {
		/* ECHILD: someone else reaped it (waitpid(-1) elsewhere) */
		log_error("waitpid(%ld) failed: %s", (long)wait->pid, strerror(errno));
		status = -1;
	}
	event_del(wait->event);
	if (wait->callback != NULL)
		wait->callback(wait->pid, status, wait->context);
	child_wait_free(wait);
}

struct child_wait *child_wait_add(struct event_base *base, pid_t pid,
				  child_wait_callback_t *callback, void *context)
{
	struct child_wait *wait = x_malloc(sizeof(*wait));

	wait->pid = pid;
	wait->callback = callback;
	wait->context = context;
	wait->pidfd = pidfd_open_compat(pid);
	if (wait->pidfd != -1) {
		(void)fcntl(wait->pidfd, F_SETFD, FD_CLOEXEC);
		wait->event = event_new(base, wait->pidfd, EV_READ | EV_PERSIST,
					child_wait_event, wait);
		if (wait->event != NULL && event_add(wait->event, NULL) == 0)
			return wait;
	} else {
		struct timeval tv = { 0, CHILD_WAIT_POLL_MSECS * 1000 };
		wait->event = event_new(base, -1, EV_PERSIST, child_wait_event, wait);
		if (wait->event != NULL && event_add(wait->event, &tv) == 0)
			return wait;
	}
	int saved_errno = errno != 0 ? errno : ENOMEM;
	if (wait->event != NULL)
		event_free(wait->event);
	if (wait->pidfd != -1)
		(void)close(wait->pidfd);
	free(wait);
	errno = saved_errno;
	return NULL;
}

void child_wait_detach(struct child_wait **_wait)
{
	struct child_wait *wait = *_wait;

	if (wait == NULL)
		return;
	*_wait = NULL;
	wait->callback = NULL;
	wait->context = NULL;
	wait->detached = true;
	wait->prev = NULL;
	wait->next = detached_waits;
	if (detached_waits != NULL)
		detached_waits->prev = wait;
	detached_waits = wait;
}

void child_wait_cancel(struct child_wait **_wait)
{
	struct child_wait *wait = *_wait;

	if (wait == NULL)
		return;
	*_wait = NULL;
	child_wait_reap_blocking(wait->pid);
	child_wait_free(wait);
}

void child_wait_deinit(void)
{
	while (detached_waits != NULL) {
		struct child_wait *wait = detached_waits;
		child_wait_cancel(&wait);
	}
}

struct proc_entry {
	pid_t pid, ppid;
};

/* Read the parent pid of every process in /proc. */
static size_t read_proc_parents(struct proc_entry **entries_r)
{
	ARRAY(struct proc_entry) list = ARRAY_INIT;
	DIR *dir = opendir("/proc");
	struct dirent *d;

	while (dir != NULL && (d = readdir(dir)) != NULL) {
		char path[300], buf[512];
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "pid (comm) state ppid ...": comm may hold anything */
		const char *end = strrchr(buf, ')');
		char state;
		int ppid;
		if (end == NULL || sscanf(end + 1, " %c %d", &state, &ppid) != 2)
			continue;
		struct proc_entry *e = array_append_space(&list);
		e->pid = (pid_t)atol(d->d_name);
		e->ppid = (pid_t)ppid;
	}
	if (dir != NULL)
		(void)closedir(dir);
	*entries_r = list.v;
	return list.count;
}

void child_wait_kill_tree(pid_t pid)
{
	struct proc_entry *entries;
	size_t count = read_proc_parents(&entries);
	ARRAY(pid_t) tree = ARRAY_INIT;
	bool added = true;

	array_push(&tree, pid);
	while (added) {
		added = false;
		for (size_t i = 0; i < count; i++) {
			bool parent_in = false, self_in = false;
			for (size_t j = 0; j < tree.count; j++) {
				parent_in = parent_in || entries[i].ppid == tree.v[j];
				self_in = self_in || entries[i].pid == tree.v[j];
			}
			if (parent_in && !self_in) {
				array_push(&tree, entries[i].pid);
				added = true;
			}
		}
	}
	/* the parent last, so that nothing is reparented away meanwhile */
	for (size_t j = tree.count; j > 0; j--)
		(void)kill(tree.v[j - 1], SIGKILL);
	array_free(&tree);
	free(entries);
}

void child_wait_reap_blocking(pid_t pid)
{
	int status;

	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

char *child_wait_status_text(int status)
{
	if (status == -1)
		return x_strdup("exit status unknown");
	if (WIFSIGNALED(status)) {
		return x_printf("killed by signal %d (%s)", WTERMSIG(status),
				strsignal(WTERMSIG(status)));
	}
	if (WIFEXITED(status))
		return x_printf("exited with status %d", WEXITSTATUS(status));
	return x_printf("ended with wait status %d", status);
}
