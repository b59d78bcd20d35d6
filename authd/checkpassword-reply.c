/* checkpassword-reply: what a checkpassword program runs on success (its
   first argument). Writes the reply fields for roost-auth to fd 4, TAB
   separated and TAB-escaped (db-checkpassword.h):
     USER          -> user=...          (the name may be changed)
     HOME          -> userdb_home=...
     each variable named in EXTRA (space separated) -> lower-case name=value
     userdb_uid / userdb_gid default to this process' uid/gid
   Exit 2 if AUTHORIZED=2 (a lookup the program understood), else 0;
   111 on errors.

   Security (as in Dovecot 2.2.7+): a checkpassword program that setuid()s
   into the user before running us would let that user tamper with the
   reply; so if our uid isn't ORIG_UID (roost-auth's), we refuse unless
   INSECURE_SETUID is set. Return userdb_uid/userdb_gid fields instead. */
#define _GNU_SOURCE 1
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_FD 4
#define REPLY_MAX (64 * 1024)
#define EXIT_TEMPFAIL 111

struct reply {
	char data[REPLY_MAX];
	size_t len;
	int overflow;
};

static void reply_add_c(struct reply *r, char c)
{
	if (r->len + 1 >= sizeof(r->data)) {
		r->overflow = 1;
		return;
	}
	r->data[r->len++] = c;
}

/* Dovecot's tab escaping: \001 as the escape character */
static void reply_add_escaped(struct reply *r, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\001': reply_add_c(r, '\001'); reply_add_c(r, '1'); break;
		case '\t': reply_add_c(r, '\001'); reply_add_c(r, 't'); break;
		case '\r': reply_add_c(r, '\001'); reply_add_c(r, 'r'); break;
		case '\n': reply_add_c(r, '\001'); reply_add_c(r, 'n'); break;
		default: reply_add_c(r, *s); break;
		}
	}
}

static void reply_add_field(struct reply *r, const char *key, const char *value)
{
	for (; *key != '\0'; key++)
		reply_add_c(r, (char)tolower((unsigned char)*key));
	reply_add_c(r, '=');
	reply_add_escaped(r, value);
	reply_add_c(r, '\t');
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t ret = write(fd, data, len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return -1;
		data += ret;
		len -= (size_t)ret;
	}
	return 0;
}

int main(void)
{
	static struct reply r;
	const char *value;
	int uid_found = 0, gid_found = 0;

	value = getenv("ORIG_UID");
	if (value == NULL) {
		fprintf(stderr, "checkpassword-reply: ORIG_UID environment was dropped "
			"by the checkpassword program: can't verify the uid\n");
		return EXIT_TEMPFAIL;
	}
	if (strtoul(value, NULL, 10) != (unsigned long)getuid() &&
	    getenv("INSECURE_SETUID") == NULL) {
		fprintf(stderr, "checkpassword-reply: the checkpassword program changed "
			"the uid (%s -> %lu): refusing, the user could tamper with the "
			"reply. Return userdb_uid/userdb_gid instead, or set "
			"INSECURE_SETUID=1\n", value, (unsigned long)getuid());
		return EXIT_TEMPFAIL;
	}

	if ((value = getenv("USER")) != NULL)
		reply_add_field(&r, "user", value);
	if ((value = getenv("HOME")) != NULL)
		reply_add_field(&r, "userdb_home", value);
	if ((value = getenv("EXTRA")) != NULL) {
		char *extra = strdup(value), *saveptr = NULL;
		if (extra == NULL)
			return EXIT_TEMPFAIL;
		for (char *name = strtok_r(extra, " ", &saveptr); name != NULL;
		     name = strtok_r(NULL, " ", &saveptr)) {
			const char *field = getenv(name);
			if (field == NULL)
				continue;
			if (strcasecmp(name, "userdb_uid") == 0)
				uid_found = 1;
			else if (strcasecmp(name, "userdb_gid") == 0)
				gid_found = 1;
			reply_add_field(&r, name, field);
		}
		free(extra);
	}
	char num[32];
	if (!uid_found) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)getuid());
		reply_add_field(&r, "userdb_uid", num);
	}
	if (!gid_found) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)getgid());
		reply_add_field(&r, "userdb_gid", num);
	}
	if (r.overflow) {
		fprintf(stderr, "checkpassword-reply: reply longer than %d bytes\n", REPLY_MAX);
		return EXIT_TEMPFAIL;
	}
	if (write_all(REPLY_FD, r.data, r.len) < 0) {
		fprintf(stderr, "checkpassword-reply: write(fd %d) failed: %s\n",
			REPLY_FD, strerror(errno));
		return EXIT_TEMPFAIL;
	}
	value = getenv("AUTHORIZED");
	return value != NULL && strcmp(value, "2") == 0 ? 2 : 0;
}
