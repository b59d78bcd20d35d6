/* passwd-file reading, reloading and lookups. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "hash.h"
#include "array.h"
#include "path-error.h"
#include "auth-request.h"
#include "db-passwd-file.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>
#include <sys/stat.h>

#define PASSWD_FILE_MAX_SIZE (1024UL * 1024 * 1024)

struct passwd_file {
	char *path;
	struct pool *pool;           /* users live here */
	struct hash_table *users;    /* name -> struct passwd_user */
	ARRAY(const char *) names;   /* file order, for iteration */
	struct timespec mtime;
	off_t size;
	ino_t ino;
	bool loaded;
};

struct db_passwd_file {
	struct pool *pool;
	const char *path_template;
	const char *username_format;
	const char *default_scheme;
	bool templated;
	bool userdb;
	struct passwd_file *single;
	struct hash_table *files;    /* expanded path -> passwd_file */
};

static void passwd_file_clear(struct passwd_file *pw)
{
	pool_destroy(&pw->pool);
	hash_table_destroy(&pw->users);
	array_free(&pw->names);
	pw->loaded = false;
}

static void passwd_file_free(struct passwd_file *pw)
{
	passwd_file_clear(pw);
	free(pw->path);
	free(pw);
}

/* password[13] and password[34]: libpam-pwdfile style crypt/MD5 markers */
static const char *fix_pam_pwdfile(struct pool *pool, const char *password)
{
	size_t len = strlen(password);
	if (len > 4 && password[len - 4] == '[' && password[len - 1] == ']') {
		if (strcmp(password + len - 4, "[13]") == 0)
			return pool_printf(pool, "{CRYPT}%.*s", (int)(len - 4), password);
		if (strcmp(password + len - 4, "[34]") == 0)
			return pool_printf(pool, "{MD5-CRYPT}%.*s", (int)(len - 4), password);
	}
	return password;
}

static int passwd_file_parse(struct passwd_file *pw, char *data, size_t size,
			     const char **error_r)
{
	unsigned int line_no = 0;
	char *p = data, *end = data + size;

	pw->pool = pool_create("passwd-file", size + 1024);
	pw->users = hash_table_create_str(false);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p;
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		p = nl + 1;
		line_no++;
		size_t len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (*line == '\0' || *line == '#')
			continue;

		/* user:password:uid:gid:gecos:home:shell:extra */
		char *fields[8] = { NULL };
		unsigned int n = 0;
		char *f = line;
		fields[n++] = f;
		while (n < 8 && (f = strchr(f, ':')) != NULL) {
			*f++ = '\0';
			fields[n++] = f;
		}
		if (fields[0][0] == '\0') {
			log_warning("%s:%u: empty user name, line ignored", pw->path, line_no);
			continue;
		}
		if (hash_table_lookup_str(pw->users, fields[0]) != NULL) {
			log_warning("%s:%u: duplicate user %s, first entry wins",
				    pw->path, line_no, fields[0]);
			continue;
		}
		struct passwd_user *u = pool_alloc(pw->pool, sizeof(*u));
		u->name = pool_strdup(pw->pool, fields[0]);
		u->password = fields[1] == NULL ? "" :
			fix_pam_pwdfile(pw->pool, pool_strdup(pw->pool, fields[1]));
		u->uid = pool_strdup(pw->pool, fields[2] != NULL ? fields[2] : "");
		u->gid = pool_strdup(pw->pool, fields[3] != NULL ? fields[3] : "");
		u->home = pool_strdup(pw->pool, fields[5] != NULL ? fields[5] : "");
		u->extra = pool_strdup(pw->pool, fields[7] != NULL ? fields[7] : "");
		u->source = pool_printf(pw->pool, "%s:%u", pw->path, line_no);
		hash_table_insert_str(pw->users, u->name, u);
		array_push(&pw->names, u->name);
	}
	(void)error_r;
	return 0;
}

/* Returns 0 ok, -1 error (error_r set, malloc()ed in *error_alloc_r). */
static int passwd_file_sync(struct passwd_file *pw, char **error_r)
{
	struct stat st;

	if (stat(pw->path, &st) < 0) {
		int err = errno;
		*error_r = path_error("stat", pw->path, err);
		if (pw->loaded && err == ENOENT) {
			/* file removed: no users */
			passwd_file_clear(pw);
		}
		return -1;
	}
	if (pw->loaded && st.st_mtim.tv_sec == pw->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == pw->mtime.tv_nsec &&
	    st.st_size == pw->size && st.st_ino == pw->ino)
		return 0;

	int fd = open(pw->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = path_error("open", pw->path, errno);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = path_error("fstat", pw->path, errno);
		close(fd);
		return -1;
	}
	if ((unsigned long)st.st_size > PASSWD_FILE_MAX_SIZE) {
		*error_r = x_printf("%s: file too large (%lld bytes)", pw->path,
				    (long long)st.st_size);
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *data = x_malloc(size + 1);
	size_t done = 0;
	while (done < size) {
		ssize_t ret = read(fd, data + done, size - done);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			*error_r = path_error("read", pw->path, errno);
			x_free_secret(data, size + 1);
			close(fd);
			return -1;
		}
		if (ret == 0)
			break;
		done += (size_t)ret;
	}
	close(fd);

	if (pw->loaded)
		passwd_file_clear(pw);
	const char *error;
	passwd_file_parse(pw, data, done, &error);
	x_free_secret(data, size + 1);
	pw->loaded = true;
	pw->mtime = st.st_mtim;
	pw->size = st.st_size;
	pw->ino = st.st_ino;
	log_debug("passwd-file %s: read %zu users", pw->path, pw->names.count);
	return 0;
}

int db_passwd_file_create(struct pool *pool, const char *args, bool userdb,
			  struct db_passwd_file **db_r, const char **error_r)
{
	struct db_passwd_file *db = pool_alloc(pool, sizeof(*db));
	char *copy = pool_strdup(pool, args);
	char *saveptr = NULL;

	db->pool = pool;
	db->userdb = userdb;
	db->username_format = "%u";
	db->default_scheme = "CRYPT";
	for (char *tok = strtok_r(copy, " \t", &saveptr); tok != NULL;
	     tok = strtok_r(NULL, " \t", &saveptr)) {
		const char *value;
		if (str_begins(tok, "scheme=", &value))
			db->default_scheme = pool_strdup(pool, value);
		else if (str_begins(tok, "username_format=", &value))
			db->username_format = pool_strdup(pool, value);
		else if (db->path_template == NULL && strchr(tok, '=') == NULL)
			db->path_template = pool_strdup(pool, tok);
		else {
			*error_r = pool_printf(pool, "passwd-file: unknown parameter in args: %s", tok);
			return -1;
		}
	}
	if (db->path_template == NULL) {
		*error_r = "passwd-file: args must give the path of the file";
		return -1;
	}
	db->templated = strchr(db->path_template, '%') != NULL;
	if (db->templated) {
		db->files = hash_table_create_str(false);
	} else {
		db->single = x_malloc(sizeof(*db->single));
		db->single->path = x_strdup(db->path_template);
	}
	*db_r = db;
	return 0;
}

void db_passwd_file_destroy(struct db_passwd_file **_db)
{
	struct db_passwd_file *db = *_db;
	if (db == NULL)
		return;
	*_db = NULL;
	if (db->single != NULL)
		passwd_file_free(db->single);
	if (db->files != NULL) {
		size_t iter = 0;
		void *value;
		while (hash_table_iterate(db->files, &iter, NULL, NULL, &value))
			passwd_file_free(value);
		hash_table_destroy(&db->files);
	}
}

const char *db_passwd_file_default_scheme(const struct db_passwd_file *db)
{
	return db->default_scheme;
}

static struct passwd_file *get_file(struct db_passwd_file *db,
				    struct auth_request *request)
{
	if (!db->templated)
		return db->single;

	string_t *path = str_create(128);
	const char *error;
	if (auth_request_var_expand(path, db->path_template, request, &error) < 0)
		auth_request_log_error(request, "passwd-file: failed to expand path %s: %s",
				       db->path_template, error);
	struct passwd_file *pw = hash_table_lookup_str(db->files, str_c(path));
	if (pw == NULL) {
		pw = x_malloc(sizeof(*pw));
		pw->path = str_free_without_data(&path);
		hash_table_insert_str(db->files, pw->path, pw);
	} else {
		str_free(&path);
	}
	return pw;
}

int db_passwd_file_lookup(struct db_passwd_file *db, struct auth_request *request,
			  const struct passwd_user **user_r)
{
	struct passwd_file *pw = get_file(db, request);
	char *error = NULL;

	if (passwd_file_sync(pw, &error) < 0) {
		bool missing = !pw->loaded && strstr(error, "No such file") != NULL &&
			db->templated;
		if (missing) {
			/* a per-domain file that does not exist: user unknown */
			auth_request_log_debug(request, "passwd-file: %s", error);
			free(error);
			return 0;
		}
		auth_request_log_error(request, "passwd-file: %s", error);
		free(error);
		if (!pw->loaded)
			return -1;
		/* keep serving the copy we have */
	}
	string_t *key = str_create(64);
	const char *verror;
	if (auth_request_var_expand(key, db->username_format, request, &verror) < 0) {
		auth_request_log_error(request, "passwd-file: failed to expand username_format=%s: %s",
				       db->username_format, verror);
		str_free(&key);
		return -1;
	}
	const struct passwd_user *u = hash_table_lookup_str(pw->users, str_c(key));
	str_free(&key);
	if (u == NULL)
		return 0;
	*user_r = u;
	return 1;
}

int db_passwd_file_iterate(struct db_passwd_file *db, const char *mask,
			   void (*callback)(const char *user, void *context),
			   void *context)
{
	char *error;

	if (db->templated) {
		log_error("passwd-file %s: iteration of templated paths is not supported",
			  db->path_template);
		return -1;
	}
	if (passwd_file_sync(db->single, &error) < 0) {
		log_error("passwd-file: %s", error);
		free(error);
		if (!db->single->loaded)
			return -1;
	}
	for (size_t i = 0; i < db->single->names.count; i++) {
		const char *name = db->single->names.v[i];
		if (mask == NULL || *mask == '\0' || fnmatch(mask, name, 0) == 0)
			callback(name, context);
	}
	return 0;
}
