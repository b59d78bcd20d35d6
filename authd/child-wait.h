#ifndef ROOST_CHILD_WAIT_H
#define ROOST_CHILD_WAIT_H
/* Reaping one child process from the event loop without a SIGCHLD
   handler: a pidfd (Linux 5.3+) becomes readable when the child exits,
   then waitpid(pid) collects exactly that child. Where pidfd_open() is
   missing, the child is polled with waitpid(WNOHANG) every 50 ms.
   Nothing here calls waitpid(-1), so other code that forks is not
   disturbed (and must not call waitpid(-1) itself, or it steals our
   statuses). Used by the PAM worker processes and checkpassword. */
#include "lib.h"

struct event_base;
struct child_wait;

/* status is as from waitpid(). Called once, in the event loop; the
   child_wait is freed right after the callback returns. */
typedef void child_wait_callback_t(pid_t pid, int status, void *context);

/* Start watching pid (a child of this process). Returns NULL with errno
   set if the watch can't be set up (the caller should kill the child and
   then child_wait_reap_blocking()). */
struct child_wait *child_wait_add(struct event_base *base, pid_t pid,
				  child_wait_callback_t *callback, void *context);
/* The owner lost interest: the callback won't be called, but the child
   is still reaped when it exits (no zombie). *_wait is set to NULL. */
void child_wait_detach(struct child_wait **_wait);
/* Stop watching now: SIGKILL the child and waitpid() for it (blocks only
   until the kernel has finished it). The callback is not called. */
void child_wait_cancel(struct child_wait **_wait);
/* At shutdown: cancel every detached wait. */
void child_wait_deinit(void);
/* SIGKILL pid and every process descended from it, found through /proc
   (a PAM module or checkpassword script may start children in their own
   session, e.g. pam_exec, so killing the process group isn't enough).
   For timeouts: it reads all of /proc. */
void child_wait_kill_tree(pid_t pid);
/* Last resort: SIGKILL pid and waitpid() for it. */
void child_wait_reap_blocking(pid_t pid);
/* "exited with status 3" / "killed by signal 9 (Killed)"; malloc()ed. */
char *child_wait_status_text(int status);

#endif
