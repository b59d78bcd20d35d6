#ifndef ROOST_TEST_HARNESS_H
#define ROOST_TEST_HARNESS_H
/* Test harness for roost-auth unit tests (cmocka): an auth instance built
   from a config string, driven over socketpairs.

     test_harness_setup_dir() in the group setup makes tmpdir;
     harness_init(&h, "passdb {...}") with base settings (plain login,
       auth_failure_delay 0, disable_plaintext_auth no) + extra config;
     harness_connect(&h, master, userdb_only) opens a connection (the test
       end is h.peer, non-blocking); harness_send() writes and runs the
       event loop; harness_take() returns what the server sent (malloc()ed;
       "<EOF>" marks a close); harness_deinit() frees everything. */
#include "lib.h"

struct event_base;
struct roost_settings;
struct auth;
struct pool;
struct str;

struct harness {
	struct event_base *base;
	struct roost_settings *set;
	struct auth *auth;
	struct pool *err_pool;
	int peer;
	struct str *out;
};

extern char tmpdir[64];

int test_harness_setup_dir(void);
int test_harness_remove_dir(void);
void write_file(const char *name, const char *content);
void harness_init(struct harness *h, const char *extra_config);
void harness_connect(struct harness *h, bool master, bool userdb_only);
void harness_run(struct harness *h);
void harness_send(struct harness *h, const char *data, bool bytewise);
char *harness_take(struct harness *h);
void harness_deinit(struct harness *h);
/* passdb + userdb passwd-file on tmpdir/users with scheme=PLAIN (malloc()ed) */
char *users_config(void);
/* fail the test if needle is not in haystack */
void assert_contains(const char *haystack, const char *needle);

/* base64 of data (malloc()ed) */
char *test_b64(const void *data, size_t size);
/* send "CONT id base64(data)" and return what the server answered */
char *harness_cont(struct harness *h, unsigned int id, const void *data, size_t size);
/* whole file (malloc()ed); fails the test if it can't be read */
char *test_read_file(const char *path);

#endif
