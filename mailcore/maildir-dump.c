/* maildir-dump: print what roost reads from an existing Maildir, for
   comparing with Dovecot's view (tests/test_maildir_uidlist.py).

   Output:
     uidvalidity <n>
     next_uid <n>
     <uid>\t<IMAP flags, space separated, or ->\t<keywords, or ->
   one line per message whose file exists in cur/ or new/. Files missing
   from dovecot-uidlist are reported on stderr. Exit 0 ok, 1 error. */
#include "lib.h"
#include "pool.h"
#include "str.h"
#include "array.h"
#include "path-error.h"
#include "maildir-filename.h"
#include "maildir-keywords.h"
#include "maildir-uidlist.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

struct dir_entry {
	const char *name;      /* as in the directory */
	const char *dir;       /* "cur" or "new" */
	size_t base_len;       /* before ':' */
	bool used;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct dir_entry *ea = a, *eb = b;
	size_t len = ea->base_len < eb->base_len ? ea->base_len : eb->base_len;
	int ret = memcmp(ea->name, eb->name, len);

	if (ret != 0)
		return ret;
	return ea->base_len < eb->base_len ? -1 : ea->base_len > eb->base_len;
}

static int list_dir(struct pool *pool, const char *maildir, const char *sub,
		    void *entries_arr)
{
	ARRAY(struct dir_entry) *entries = entries_arr;
	char *path = pool_printf(pool, "%s/%s", maildir, sub);
	DIR *dir = opendir(path);
	struct dirent *d;

	if (dir == NULL) {
		char *err = path_error("opendir", path, errno);

		fprintf(stderr, "maildir-dump: %s\n", err);
		free(err);
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		struct dir_entry *e;

		if (d->d_name[0] == '.')
			continue;
		e = array_append_space(entries);
		e->name = pool_strdup(pool, d->d_name);
		e->dir = sub;
		e->base_len = maildir_filename_base_len(e->name);
	}
	closedir(dir);
	return 0;
}

static void append_word(string_t *str, const char *word)
{
	if (str_len(str) > 0)
		str_append_c(str, ' ');
	str_append(str, word);
}

static const enum maildir_flag imap_order[] = {
	MAILDIR_FLAG_REPLIED, MAILDIR_FLAG_FLAGGED, MAILDIR_FLAG_TRASHED,
	MAILDIR_FLAG_SEEN, MAILDIR_FLAG_DRAFT,
};

static int dump(struct pool *pool, const char *maildir)
{
	struct maildir_uidlist *list = maildir_uidlist_create();
	struct maildir_keywords kw;
	ARRAY(struct dir_entry) entries = ARRAY_INIT;
	const char *path, *error;
	int ret = 0;

	path = pool_printf(pool, "%s/dovecot-uidlist", maildir);
	ret = maildir_uidlist_read(list, path, &error);
	if (ret == 0)
		error = pool_printf(pool, "%s: no such file", path);
	if (ret <= 0) {
		fprintf(stderr, "maildir-dump: %s\n", error);
		maildir_uidlist_destroy(&list);
		return -1;
	}
	path = pool_printf(pool, "%s/dovecot-keywords", maildir);
	if (maildir_keywords_read(pool, path, &kw, &error) < 0) {
		fprintf(stderr, "maildir-dump: %s\n", error);
		maildir_uidlist_destroy(&list);
		return -1;
	}
	if (list_dir(pool, maildir, "cur", &entries) < 0 ||
	    list_dir(pool, maildir, "new", &entries) < 0) {
		array_free(&entries);
		maildir_uidlist_destroy(&list);
		return -1;
	}
	if (entries.count > 0)
		qsort(entries.v, entries.count, sizeof(*entries.v), entry_cmp);

	printf("uidvalidity %u\nnext_uid %u\n", list->uid_validity, list->next_uid);
	for (size_t i = 0; i < list->records.count && ret >= 0; i++) {
		const struct maildir_uidlist_record *rec = &list->records.v[i];
		struct dir_entry key, *e;
		struct maildir_filename fn;
		string_t *flags, *keywords;

		memset(&key, 0, sizeof(key));
		key.name = rec->filename;
		key.base_len = maildir_filename_base_len(rec->filename);
		e = entries.count == 0 ? NULL :
			bsearch(&key, entries.v, entries.count, sizeof(*entries.v),
				entry_cmp);
		if (e == NULL)
			continue; /* expunged outside Dovecot */
		e->used = true;
		if (maildir_filename_parse(pool, e->name, &fn, &error) < 0) {
			fprintf(stderr, "maildir-dump: %s/%s/%s: %s\n",
				maildir, e->dir, e->name, error);
			ret = -1;
			break;
		}
		flags = str_create(64);
		keywords = str_create(64);
		for (size_t f = 0; f < N_ELEMENTS(imap_order); f++)
			if ((fn.flags & imap_order[f]) != 0)
				append_word(flags, maildir_flag_imap_name(imap_order[f]));
		for (unsigned int k = 0; k < MAILDIR_KEYWORDS_MAX; k++) {
			if ((fn.keywords & (1U << k)) == 0)
				continue;
			if (kw.names[k] != NULL)
				append_word(keywords, kw.names[k]);
			else {
				fprintf(stderr, "maildir-dump: %s/%s/%s: keyword "
					"letter '%c' not in dovecot-keywords\n",
					maildir, e->dir, e->name, 'a' + k);
			}
		}
		printf("%u\t%s\t%s\n", rec->uid,
		       str_len(flags) > 0 ? str_c(flags) : "-",
		       str_len(keywords) > 0 ? str_c(keywords) : "-");
		str_free(&flags);
		str_free(&keywords);
	}
	for (size_t i = 0; i < entries.count; i++) {
		if (!entries.v[i].used)
			fprintf(stderr, "maildir-dump: %s/%s/%s: not in "
				"dovecot-uidlist (would get a new UID)\n",
				maildir, entries.v[i].dir, entries.v[i].name);
	}
	array_free(&entries);
	maildir_uidlist_destroy(&list);
	return ret < 0 ? -1 : 0;
}

int main(int argc, char *argv[])
{
	struct pool *pool;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: maildir-dump <Maildir path>\n");
		return 2;
	}
	pool = pool_create("maildir-dump", 4096);
	ret = dump(pool, argv[1]);
	pool_destroy(&pool);
	if (fflush(stdout) != 0)
		return 1;
	return ret < 0 ? 1 : 0;
}
