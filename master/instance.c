/* One roostd per base_dir: the base directory and the locked PID file. */
#include "lib.h"
#include "log.h"
#include "path-error.h"
#include "master.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#define MASTER_PID_FILE "master.pid"
#define MASTER_BASE_DIR_MODE 0755

char *master_path_join(const char *dir, const char *file)
{
	size_t len;

	if (file[0] == '/')
		return x_strdup(file);
	len = strlen(dir);
	if (len > 0 && dir[len - 1] == '/')
		return x_printf("%s%s", dir, file);
	return x_printf("%s/%s", dir, file);
}

static int mkdir_one(const char *path, char **error_r)
{
	struct stat st;

	if (mkdir(path, MASTER_BASE_DIR_MODE) == 0) {
		/* 0755 whatever our umask is: clients (Postfix, login
		   processes) must be able to reach the sockets inside. */
		if (chmod(path, MASTER_BASE_DIR_MODE) < 0) {
			*error_r = path_error("chmod", path, errno);
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		*error_r = path_error("mkdir", path, errno);
		return -1;
	}
	if (stat(path, &st) < 0) {
		*error_r = path_error("stat", path, errno);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error_r = x_printf("mkdir(%s) failed: exists and is not a directory",
				    path);
		return -1;
	}
	return 0;
}

int master_mkdir_parents(const char *dir, char **error_r)
{
	char *path = x_strdup(dir);
	char *p;
	int ret = 0;

	*error_r = NULL;
	/* each parent first, then the full path */
	for (p = path + 1; *p != '\0' && ret == 0; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		ret = mkdir_one(path, error_r);
		*p = '/';
	}
	if (ret == 0)
		ret = mkdir_one(path, error_r);
	free(path);
	return ret;
}

static char *pidfile_read_pid(int fd)
{
	char buf[32];
	ssize_t ret;

	ret = pread(fd, buf, sizeof(buf) - 1, 0);
	if (ret <= 0)
		return x_strdup("(unknown)");
	buf[ret] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return x_strdup(buf[0] == '\0' ? "(unknown)" : buf);
}

int master_pidfile_lock(struct master_context *ctx, char **error_r)
{
	struct stat st_fd, st_path;
	char *pid;
	int fd;

	*error_r = NULL;
	free(ctx->pid_path);
	ctx->pid_path = master_path_join(ctx->base_dir, MASTER_PID_FILE);
	for (;;) {
		/* CLOEXEC: a child holding the fd would keep the lock after
		   roostd died and block the next start. */
		fd = open(ctx->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			*error_r = path_error("open", ctx->pid_path, errno);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK) {
				*error_r = path_error("flock", ctx->pid_path, errno);
				close(fd);
				return -1;
			}
			pid = pidfile_read_pid(fd);
			*error_r = x_printf("roostd is already running with PID %s "
					    "(base_dir=%s)", pid, ctx->base_dir);
			free(pid);
			close(fd);
			return 0;
		}
		/* The previous holder may have unlinked the file between our
		   open() and flock(): then we locked a dead inode. */
		if (fstat(fd, &st_fd) == 0 && stat(ctx->pid_path, &st_path) == 0 &&
		    st_fd.st_dev == st_path.st_dev && st_fd.st_ino == st_path.st_ino)
			break;
		close(fd);
	}
	ctx->pid_fd = fd;
	if (master_pidfile_write(ctx, getpid(), error_r) < 0)
		return -1;
	return 1;
}

int master_pidfile_write(struct master_context *ctx, pid_t pid, char **error_r)
{
	char buf[32];
	int len;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	if (ftruncate(ctx->pid_fd, 0) < 0) {
		*error_r = path_error("ftruncate", ctx->pid_path, errno);
		return -1;
	}
	if (pwrite(ctx->pid_fd, buf, (size_t)len, 0) != len) {
		*error_r = path_error("write", ctx->pid_path,
				      errno != 0 ? errno : ENOSPC);
		return -1;
	}
	return 0;
}

void master_pidfile_remove(struct master_context *ctx)
{
	if (ctx->pid_fd < 0)
		return;
	/* unlink while still holding the lock, so no new instance can
	   take over a file we are about to delete */
	if (unlink(ctx->pid_path) < 0 && errno != ENOENT) {
		char *error = path_error("unlink", ctx->pid_path, errno);

		log_error("%s", error);
		free(error);
	}
	close(ctx->pid_fd);
	ctx->pid_fd = -1;
}
