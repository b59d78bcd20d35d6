/* hash-rate: single-core rate of crypt(3) verifications for one hash.

   The ceiling for auths/s with a slow password scheme is about
   cores x this rate; run-auth.sh reports what fraction of it a server
   reaches. Self-contained (libc + libcrypt) like auth-load.c.

   usage: hash-rate [-n COUNT] [-d SECONDS] PASSWORD HASH
   HASH may carry Dovecot's {SCHEME} prefix. Stops after COUNT calls or
   SECONDS, whichever comes first. */
#define _GNU_SOURCE 1
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long count = 200;
	double max_secs = 5;
	int i = 1;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		char *end;
		if (strcmp(argv[i], "-n") == 0) {
			count = strtoul(argv[i + 1], &end, 10);
			if (*end != '\0' || count == 0)
				goto usage;
		} else if (strcmp(argv[i], "-d") == 0) {
			max_secs = strtod(argv[i + 1], &end);
			if (*end != '\0' || max_secs <= 0)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (argc - i != 2)
		goto usage;

	const char *password = argv[i];
	const char *hash = argv[i + 1];
	if (hash[0] == '{') {
		const char *close = strchr(hash, '}');
		if (close != NULL)
			hash = close + 1;
	}

	struct crypt_data *data = calloc(1, sizeof(*data));
	if (data == NULL)
		return 1;
	const char *result = crypt_r(password, hash, data);
	if (result == NULL || strcmp(result, hash) != 0) {
		fprintf(stderr, "hash-rate: crypt_r() does not verify the password "
			"against %s (unsupported scheme or wrong password)\n", hash);
		free(data);
		return 1;
	}

	double start = now_secs(), cpu_start = cpu_secs(), elapsed;
	unsigned long done = 0;
	do {
		if (crypt_r(password, hash, data) == NULL) {
			fprintf(stderr, "hash-rate: crypt_r() failed\n");
			free(data);
			return 1;
		}
		done++;
		elapsed = now_secs() - start;
	} while (done < count && elapsed < max_secs);
	double cpu = cpu_secs() - cpu_start;
	free(data);

	/* CPU time, not wall time: a busy machine would understate the
	   rate the core can give when it is free. */
	double per_call = cpu > 0 ? cpu / (double)done : elapsed / (double)done;
	printf("RESULT calls=%lu wall=%.3f cpu=%.3f per_call_ms=%.3f rate=%.1f\n",
	       done, elapsed, cpu, per_call * 1000, 1.0 / per_call);
	return 0;

usage:
	fprintf(stderr, "usage: hash-rate [-n COUNT] [-d SECONDS] PASSWORD HASH\n");
	return 2;
}
