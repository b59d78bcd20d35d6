/* dovecot-uidlist reading and writing. The file is trusted no more than
   mail: it may be truncated by a crash or edited by hand, so every field
   is checked and every error names path:line. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "path-error.h"
#include "maildir-uidlist.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct maildir_uidlist *maildir_uidlist_create(void)
{
	struct pool *pool = pool_create("maildir uidlist", 1024);
	struct maildir_uidlist *list = pool_alloc(pool, sizeof(*list));

	list->pool = pool;
	list->version = 3;
	list->guid = "";
	list->header_ext = "";
	return list;
}

void maildir_uidlist_destroy(struct maildir_uidlist **_list)
{
	struct maildir_uidlist *list = *_list;
	struct pool *pool;

	if (list == NULL)
		return;
	*_list = NULL;
	array_free(&list->records);
	pool = list->pool;
	pool_destroy(&pool);
}

static void uidlist_reset(struct maildir_uidlist *list)
{
	array_clear(&list->records);
	list->version = 3;
	list->uid_validity = 0;
	list->header_next_uid = 0;
	list->next_uid = 0;
	list->guid = "";
	list->header_ext = "";
}

static bool is_hex_guid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return i == MAILDIR_GUID_HEX_LEN;
}

/* Header of version 3: space separated <letter><value> fields. */
static int parse_header_v3(struct maildir_uidlist *list, char *fields,
			   const char **error_r)
{
	string_t *ext = str_create(16);
	unsigned int count;
	char **tokens = str_split(NULL, fields, ' ', &count);
	bool have_v = false, have_n = false;
	int ret = 0;

	for (unsigned int i = 0; i < count && ret == 0; i++) {
		char *t = tokens[i];

		if (*t == '\0') {
			*error_r = "empty header field (double space)";
			ret = -1;
		} else if (*t == 'V') {
			if (have_v || str_to_uint32(t + 1, &list->uid_validity) < 0 ||
			    list->uid_validity == 0) {
				*error_r = pool_printf(list->pool, have_v ?
					"duplicate UIDVALIDITY field '%s'" :
					"invalid UIDVALIDITY field '%s'", t);
				ret = -1;
			}
			have_v = true;
		} else if (*t == 'N') {
			if (have_n || str_to_uint32(t + 1, &list->header_next_uid) < 0 ||
			    list->header_next_uid == 0) {
				*error_r = pool_printf(list->pool, have_n ?
					"duplicate next UID field '%s'" :
					"invalid next UID field '%s'", t);
				ret = -1;
			}
			have_n = true;
		} else if (*t == 'G') {
			if (!is_hex_guid(t + 1)) {
				*error_r = pool_printf(list->pool,
					"invalid GUID field '%s' (want 32 hex digits)", t);
				ret = -1;
			} else {
				char *g = pool_strdup(list->pool, t + 1);

				for (char *p = g; *p != '\0'; p++)
					if (*p >= 'A' && *p <= 'F')
						*p = (char)(*p - 'A' + 'a');
				list->guid = g;
			}
		} else {
			/* unknown fields (from newer Dovecot) are kept */
			if (str_len(ext) > 0)
				str_append_c(ext, ' ');
			str_append(ext, t);
		}
	}
	free(tokens);
	if (ret == 0 && !have_v) {
		*error_r = "header lacks the UIDVALIDITY (V) field";
		ret = -1;
	} else if (ret == 0 && !have_n) {
		*error_r = "header lacks the next UID (N) field";
		ret = -1;
	}
	if (ret == 0)
		list->header_ext = pool_strdup(list->pool, str_c(ext));
	str_free(&ext);
	return ret;
}

static int parse_header(struct maildir_uidlist *list, char *line,
			const char **error_r)
{
	char *rest = strchr(line, ' ');

	if (rest == NULL) {
		*error_r = "header has no fields after the version";
		return -1;
	}
	*rest++ = '\0';
	if (strcmp(line, "3") == 0) {
		list->version = 3;
		return parse_header_v3(list, rest, error_r);
	}
	if (strcmp(line, "1") == 0) {
		/* Courier's format: "1 <uidvalidity> <next uid>" */
		char *next = strchr(rest, ' ');

		list->version = 1;
		if (next == NULL) {
			*error_r = "version 1 header lacks the next UID";
			return -1;
		}
		*next++ = '\0';
		if (str_to_uint32(rest, &list->uid_validity) < 0 ||
		    list->uid_validity == 0) {
			*error_r = pool_printf(list->pool,
				"invalid UIDVALIDITY '%s'", rest);
			return -1;
		}
		if (str_to_uint32(next, &list->header_next_uid) < 0 ||
		    list->header_next_uid == 0) {
			*error_r = pool_printf(list->pool,
				"invalid next UID '%s'", next);
			return -1;
		}
		return 0;
	}
	*error_r = pool_printf(list->pool,
		"unsupported version '%.20s' (only 1 and 3 are known)", line);
	return -1;
}

static int parse_ext_fields(struct maildir_uidlist *list,
			    struct maildir_uidlist_record *rec, char *ext,
			    const char **error_r)
{
	unsigned int count;
	char **tokens;
	int ret = 0;

	rec->ext = pool_strdup(list->pool, ext);
	if (*ext == '\0')
		return 0;
	tokens = str_split(NULL, ext, ' ', &count);
	for (unsigned int i = 0; i < count && ret == 0; i++) {
		const char *t = tokens[i];

		if (*t == '\0') {
			*error_r = "empty extension field (double space)";
			ret = -1;
		} else if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e) {
			*error_r = pool_printf(list->pool,
				"invalid extension field key 0x%02x",
				(unsigned char)*t);
			ret = -1;
		} else if (*t == 'S' || *t == 'W') {
			bool *have = *t == 'S' ? &rec->have_size : &rec->have_vsize;
			uint64_t *value = *t == 'S' ? &rec->size : &rec->vsize;

			if (*have) {
				*error_r = pool_printf(list->pool,
					"duplicate %c field", *t);
				ret = -1;
			} else if (str_to_uint64(t + 1, value) < 0) {
				*error_r = pool_printf(list->pool,
					"invalid size in field '%.40s'", t);
				ret = -1;
			}
			*have = true;
		}
		/* other keys (G guid, M modseq, ...) are kept verbatim only */
	}
	free(tokens);
	return ret;
}

static int parse_record(struct maildir_uidlist *list, char *line,
			const char **error_r)
{
	struct maildir_uidlist_record rec;
	char *sp = strchr(line, ' '), *filename;
	uint32_t last_uid = list->records.count == 0 ? 0 :
		list->records.v[list->records.count - 1].uid;

	memset(&rec, 0, sizeof(rec));
	if (sp == NULL) {
		*error_r = "record has no file name";
		return -1;
	}
	*sp = '\0';
	if (str_to_uint32(line, &rec.uid) < 0 || rec.uid == 0) {
		*error_r = pool_printf(list->pool, "invalid UID '%.20s'", line);
		return -1;
	}
	if (rec.uid <= last_uid) {
		if (rec.uid == last_uid)
			*error_r = pool_printf(list->pool, "duplicate UID %u", rec.uid);
		else
			*error_r = pool_printf(list->pool,
				"UID %u is not above previous UID %u",
				rec.uid, last_uid);
		return -1;
	}
	if (list->version == 1) {
		filename = sp + 1;
		rec.ext = "";
	} else {
		/* " :" separates the ext fields from the file name; the
		   file name itself may contain ':' only after that */
		char *ext = sp + 1, *colon;

		if (*ext == ':') {
			colon = ext;
			*colon = '\0';
			rec.ext = "";
		} else {
			colon = strstr(ext, " :");
			if (colon == NULL) {
				*error_r = "record lacks ' :' before the file name";
				return -1;
			}
			*colon++ = '\0';
			*colon = '\0';
			if (parse_ext_fields(list, &rec, ext, error_r) < 0)
				return -1;
		}
		filename = colon + 1;
	}
	if (*filename == '\0') {
		*error_r = "empty file name";
		return -1;
	}
	if (strchr(filename, '/') != NULL) {
		*error_r = "file name contains '/'";
		return -1;
	}
	rec.filename = pool_strdup(list->pool, filename);
	array_push(&list->records, rec);
	return 0;
}

int maildir_uidlist_parse(struct maildir_uidlist *list, const char *path,
			  const unsigned char *data, size_t size,
			  const char **error_r)
{
	char *line = x_malloc(MAILDIR_UIDLIST_MAX_LINE + 1);
	const char *error = NULL;
	size_t pos = 0;
	unsigned int line_no = 0;

	uidlist_reset(list);
	if (size == 0) {
		*error_r = pool_printf(list->pool, "%s: empty file", path);
		free(line);
		return -1;
	}
	while (pos < size && error == NULL) {
		const unsigned char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = (nl == NULL ? size : (size_t)(nl - data)) - pos;

		line_no++;
		if (len > MAILDIR_UIDLIST_MAX_LINE) {
			error = pool_printf(list->pool,
				"line too long (over %u bytes)",
				MAILDIR_UIDLIST_MAX_LINE);
			break;
		}
		if (nl == NULL) {
			/* Dovecot ends every line with LF: this one was cut
			   short by a crash or a full disk */
			error = "truncated line (no newline at end of file)";
			break;
		}
		if (memchr(data + pos, '\0', len) != NULL) {
			error = "NUL byte in line";
			break;
		}
		if (memchr(data + pos, '\r', len) != NULL) {
			error = "carriage return in line";
			break;
		}
		memcpy(line, data + pos, len);
		line[len] = '\0';
		if (len == 0)
			error = "empty line";
		else if (line_no == 1) {
			if (parse_header(list, line, &error) < 0 && error == NULL)
				error = "invalid header";
		} else if (parse_record(list, line, &error) < 0 && error == NULL)
			error = "invalid record";
		pos += len + 1;
	}
	free(line);
	if (error != NULL) {
		*error_r = pool_printf(list->pool, "%s:%u: %s", path, line_no, error);
		uidlist_reset(list);
		return -1;
	}
	list->next_uid = list->header_next_uid;
	if (list->records.count > 0) {
		uint32_t last = list->records.v[list->records.count - 1].uid;

		if (last == UINT32_MAX) {
			*error_r = pool_printf(list->pool,
				"%s: UID space exhausted (UID %u)", path, last);
			uidlist_reset(list);
			return -1;
		}
		if (last + 1 > list->next_uid)
			list->next_uid = last + 1;
	}
	return 0;
}

int maildir_file_read_all(struct pool *pool, const char *path, size_t max_size,
			  unsigned char **data_r, size_t *size_r,
			  const char **error_r)
{
	struct stat st;
	unsigned char *data;
	size_t size = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		char *err = path_error("open", path, errno);
		*error_r = pool_strdup(pool, err);
		free(err);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		char *err = path_error("fstat", path, errno);
		*error_r = pool_strdup(pool, err);
		free(err);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = pool_printf(pool, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max_size) {
		*error_r = pool_printf(pool, "%s: file too large (%llu bytes, "
				       "limit %zu)", path,
				       (unsigned long long)st.st_size, max_size);
		close(fd);
		return -1;
	}
	/* read up to one byte more than stat said, to see growth */
	data = pool_alloc(pool, (size_t)st.st_size + 2);
	for (;;) {
		ssize_t n = read(fd, data + size, (size_t)st.st_size + 1 - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char *err = path_error("read", path, errno);
			*error_r = pool_strdup(pool, err);
			free(err);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > (size_t)st.st_size) {
			*error_r = pool_printf(pool,
				"%s: file grew while being read", path);
			close(fd);
			return -1;
		}
	}
	close(fd);
	data[size] = '\0';
	*data_r = data;
	*size_r = size;
	return 1;
}

int maildir_uidlist_read(struct maildir_uidlist *list, const char *path,
			 const char **error_r)
{
	unsigned char *data;
	size_t size;
	int ret;

	uidlist_reset(list);
	ret = maildir_file_read_all(list->pool, path, MAILDIR_UIDLIST_MAX_SIZE,
				    &data, &size, error_r);
	if (ret <= 0)
		return ret;
	return maildir_uidlist_parse(list, path, data, size, error_r) < 0 ? -1 : 1;
}

int maildir_uidlist_append(struct maildir_uidlist *list, uint32_t uid,
			   const char *ext, const char *filename,
			   const char **error_r)
{
	/* Build the line and run it through the parser, so that appended
	   records obey exactly the rules of read ones. */
	string_t *str = str_create(128);
	int ret;

	str_append_uint(str, uid);
	str_append_c(str, ' ');
	if (ext != NULL && *ext != '\0') {
		str_append(str, ext);
		str_append_c(str, ' ');
	}
	str_append_c(str, ':');
	str_append(str, filename);
	if (strchr(filename, '\n') != NULL || strchr(filename, '\r') != NULL ||
	    (ext != NULL && (strchr(ext, '\n') != NULL || strstr(ext, " :") != NULL ||
			     *ext == ':'))) {
		*error_r = "invalid character in file name or ext fields";
		ret = -1;
	} else if (str_len(str) > MAILDIR_UIDLIST_MAX_LINE) {
		*error_r = "record too long";
		ret = -1;
	} else {
		unsigned int saved_version = list->version;

		list->version = 3;
		ret = parse_record(list, str->data, error_r);
		list->version = saved_version;
	}
	str_free(&str);
	if (ret == 0 && list->next_uid <= uid)
		list->next_uid = uid == UINT32_MAX ? uid : uid + 1;
	return ret;
}

const struct maildir_uidlist_record *
maildir_uidlist_lookup(const struct maildir_uidlist *list, uint32_t uid)
{
	size_t lo = 0, hi = list->records.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (list->records.v[mid].uid == uid)
			return &list->records.v[mid];
		if (list->records.v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct str *maildir_uidlist_format(const struct maildir_uidlist *list)
{
	string_t *str = str_create(64 + list->records.count * 64);

	i_assert(list->uid_validity != 0);
	str_printfa(str, "3 V%u N%u", list->uid_validity,
		    list->next_uid == 0 ? 1 : list->next_uid);
	if (*list->guid != '\0')
		str_printfa(str, " G%s", list->guid);
	if (*list->header_ext != '\0')
		str_printfa(str, " %s", list->header_ext);
	str_append_c(str, '\n');
	for (size_t i = 0; i < list->records.count; i++) {
		const struct maildir_uidlist_record *rec = &list->records.v[i];

		str_append_uint(str, rec->uid);
		str_append_c(str, ' ');
		if (*rec->ext != '\0') {
			str_append(str, rec->ext);
			str_append_c(str, ' ');
		}
		str_append_c(str, ':');
		str_append(str, rec->filename);
		str_append_c(str, '\n');
	}
	return str;
}

static int fsync_dir_of(struct pool *pool, const char *path, const char **error_r)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? pool_strdup(pool, ".") :
		slash == path ? pool_strdup(pool, "/") :
		pool_strndup(pool, path, (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		char *err = path_error(fd < 0 ? "open" : "fsync", dir, errno);
		*error_r = pool_strdup(pool, err);
		free(err);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int maildir_file_write_atomic(struct pool *pool, const char *path,
			      const void *data, size_t size,
			      const char **error_r)
{
	/* Same directory, so rename() is atomic; a crash leaves either the
	   old file or the new one, plus maybe a stale temp file. */
	char *tmp_path = pool_printf(pool, "%s.tmp.XXXXXX", path);
	const char *call = "write";
	const unsigned char *p = data;
	size_t done = 0;
	int fd;

	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0) {
		char *err = path_error("mkstemp", tmp_path, errno);
		*error_r = pool_strdup(pool, err);
		free(err);
		return -1;
	}
	while (done < size) {
		ssize_t n = write(fd, p + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			goto fail;
		}
		done += (size_t)n;
	}
	call = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	call = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp_path, path) < 0) {
		char *err = path_error("rename", path, errno);
		*error_r = pool_printf(pool, "%s (from %s)", err, tmp_path);
		free(err);
		(void)unlink(tmp_path);
		return -1;
	}
	return fsync_dir_of(pool, path, error_r);
fail:
	{
		int saved = errno;
		char *err = path_error(call, tmp_path, saved);

		*error_r = pool_strdup(pool, err);
		free(err);
		if (fd >= 0)
			close(fd);
		(void)unlink(tmp_path);
		return -1;
	}
}

int maildir_uidlist_write(struct maildir_uidlist *list, const char *path,
			  const char **error_r)
{
	string_t *str = maildir_uidlist_format(list);
	int ret;

	ret = maildir_file_write_atomic(list->pool, path, str_data(str),
					str_len(str), error_r);
	str_free(&str);
	return ret;
}
