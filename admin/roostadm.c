/* roostadm: the command-line tool (doveadm-compatible subset). */
#include "lib.h"
#include "log.h"
#include "roostadm.h"

#include <stdio.h>

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "pw", cmd_pw, "pw [-l] [-s SCHEME] [-p PASS] [-u USER] [-r ROUNDS] [-t HASH] [-V]" },
	{ "auth", cmd_auth, "auth test [-a SOCKET] [-x key=value] USER [PASS]" },
	{ "user", cmd_user, "user [-a SOCKET] [-x key=value] USER" },
};

static void usage(void)
{
	fprintf(stderr, "usage: roostadm COMMAND [ARGS]\n");
	for (size_t i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(stderr, "  roostadm %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	log_init("roostadm");
	if (argc < 2 || str_eq(argv[1], "help") || str_eq(argv[1], "--help")) {
		usage();
		return argc < 2 ? 64 : 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(commands); i++) {
		if (str_eq(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "roostadm: unknown command: %s\n", argv[1]);
	usage();
	return 64;
}
