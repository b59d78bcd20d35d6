/* Error messages for failed system calls on paths, naming the identity
   and, for permission errors, the directory that lacks the permission. */
#include "lib.h"
#include "path-error.h"
#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pwd.h>
#include <grp.h>
#include <sys/stat.h>

static void append_user(string_t *str, uid_t uid)
{
	struct passwd pw, *result = NULL;
	char buf[1024];

	str_printfa(str, "%ld", (long)uid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) == 0 && result != NULL)
		str_printfa(str, "(%s)", pw.pw_name);
}

static void append_group(string_t *str, gid_t gid)
{
	struct group gr, *result = NULL;
	char buf[4096];

	str_printfa(str, "%ld", (long)gid);
	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &result) == 0 && result != NULL)
		str_printfa(str, "(%s)", gr.gr_name);
}

char *path_error_identity(void)
{
	string_t *str = str_create(64);

	str_append(str, "euid=");
	append_user(str, geteuid());
	str_append(str, " egid=");
	append_group(str, getegid());
	return str_free_without_data(&str);
}

static bool in_group(gid_t gid)
{
	if (gid == getegid())
		return true;
	gid_t groups[256];
	int n = getgroups(N_ELEMENTS(groups), groups);
	for (int i = 0; i < n; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

/* Which of r/w/x (mask 4/2/1) does the current identity have on st? */
static bool have_perm(const struct stat *st, unsigned int want)
{
	unsigned int bits;

	if (geteuid() == 0)
		return true;
	if (st->st_uid == geteuid())
		bits = (st->st_mode >> 6) & 7;
	else if (in_group(st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return (bits & want) == want;
}

static char *missing_perm_msg(const char *perm, const char *dir,
			      const struct stat *st)
{
	string_t *str = str_create(128);
	str_printfa(str, "missing %s perm: %s, ", perm, dir);
	str_append(str, "dir owned by ");
	append_user(str, st->st_uid);
	str_append(str, ":");
	append_group(str, st->st_gid);
	str_printfa(str, " mode=0%o", (unsigned int)(st->st_mode & 07777));
	return str_free_without_data(&str);
}

char *path_error_find_missing_perm(const char *path, bool want_write)
{
	char *copy, *p;
	struct stat st;

	if (path == NULL || *path == '\0')
		return NULL;

	char *abs = NULL;
	if (path[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NULL;
		abs = x_printf("%s/%s", cwd, path);
		path = abs;
	}
	copy = x_strdup(path);
	char *result = NULL;

	/* Walk every parent directory: each one needs +x. */
	for (p = copy + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		if (c == '\0')
			break;
		*p = '\0';
		if (stat(copy, &st) == 0) {
			if (!have_perm(&st, 1)) {
				result = missing_perm_msg("+x", copy, &st);
				break;
			}
		} else {
			*p = c;
			break;
		}
		*p = c;
	}
	if (result == NULL) {
		/* All parents traversable: the parent of the final component
		   needs +w to create, or the file itself lacks r/w. */
		char *slash = strrchr(copy, '/');
		if (stat(copy, &st) == 0) {
			unsigned int want = want_write ? 2 : 4;
			if (!have_perm(&st, want))
				result = missing_perm_msg(want_write ? "+w" : "+r",
							  copy, &st);
		} else if (slash != NULL) {
			if (slash == copy)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (stat(copy, &st) == 0 && !have_perm(&st, 2))
				result = missing_perm_msg("+w", copy, &st);
		}
	}
	free(copy);
	free(abs);
	return result;
}

char *path_error(const char *call, const char *path, int err)
{
	int saved_errno = errno;
	string_t *str = str_create(256);
	char *ident = path_error_identity();

	str_printfa(str, "%s(%s) failed: %s (%s", call, path, strerror(err), ident);
	free(ident);
	if (err == EACCES || err == EPERM) {
		bool want_write = strcmp(call, "open") != 0 &&
			strcmp(call, "stat") != 0 && strcmp(call, "opendir") != 0 &&
			strcmp(call, "connect") != 0;
		if (strcmp(call, "connect") == 0)
			want_write = true;
		char *missing = path_error_find_missing_perm(path, want_write);
		if (missing != NULL) {
			str_printfa(str, " %s", missing);
			free(missing);
		}
	}
	str_append_c(str, ')');
	/* callers may still look at errno after building the message */
	errno = saved_errno;
	return str_free_without_data(&str);
}
