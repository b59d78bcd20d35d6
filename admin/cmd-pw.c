/* roostadm pw: generate and test {SCHEME} password hashes, with the options,
   output and exit codes of Dovecot 2.3's doveadm pw:

     pw [-l] [-p plaintext] [-r rounds] [-s scheme] [-t hash] [-u user] [-V]

   -l lists the schemes. Otherwise a hash of the password is made in -s
   scheme (default CRYPT = bcrypt) and printed; -V verifies it again,
   -t HASH verifies the password against HASH instead and prints
   "HASH (verified)". Without -p the password is asked for on the terminal
   (twice when making a hash) or read from stdin when that is not a
   terminal. Exit codes: 0 ok, 64 usage, 75 any failure ("Fatal: ..."),
   1 when the typed passwords differed three times. */
#include "lib.h"
#include "str.h"
#include "password-scheme.h"
#include "roostadm.h"

#include <stdio.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define PW_EXIT_USAGE 64
#define PW_EXIT_FAILURE 75
#define PW_DEFAULT_SCHEME "CRYPT"
#define PW_PROMPT_LIVES 3
/* Bound for a password read from the terminal or stdin. */
#define PW_MAX_PASSWORD_SIZE (64 * 1024)
#define PW_SCHEME_NAME_MAX 256

/* Terminal state to restore if a signal arrives while echo is off
   (process-wide by nature: there is one controlling terminal). */
static struct termios pw_saved_tio;
static volatile sig_atomic_t pw_tty_fd = -1;

static void pw_restore_tty_signal(int signo)
{
	if (pw_tty_fd >= 0)
		(void)tcsetattr(pw_tty_fd, TCSAFLUSH, &pw_saved_tio);
	signal(signo, SIG_DFL);
	raise(signo);
}

static int ATTR_FORMAT(1, 2) pw_fatal(const char *fmt, ...)
{
	va_list args;

	fputs("Fatal: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	return PW_EXIT_FAILURE;
}

/* Read one line (up to LF or CR or EOF) into dest. On a terminal: prompt
   on stderr and read /dev/tty without echo; otherwise read stdin without
   a prompt. Returns 0, or -1 with *error_r. */
static int pw_askpass(const char *prompt, string_t *dest, const char **error_r)
{
	struct termios tio;
	bool tty = isatty(STDIN_FILENO) != 0, restore = false;
	struct sigaction sa, old_int, old_term, old_hup;
	int fd = STDIN_FILENO;
	char ch;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		fd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			*error_r = "open(/dev/tty) failed";
			return -1;
		}
		if (tcgetattr(fd, &pw_saved_tio) == 0) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = pw_restore_tty_signal;
			sigemptyset(&sa.sa_mask);
			(void)sigaction(SIGINT, &sa, &old_int);
			(void)sigaction(SIGTERM, &sa, &old_term);
			(void)sigaction(SIGHUP, &sa, &old_hup);
			pw_tty_fd = fd;
			restore = true;
			tio = pw_saved_tio;
			tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
			(void)tcsetattr(fd, TCSAFLUSH, &tio);
		}
	}

	for (;;) {
		ssize_t ret = read(fd, &ch, 1);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0 || ch == '\n' || ch == '\r')
			break;
		str_append_c(dest, ch);
	}
	ch = 0;

	if (tty) {
		if (restore) {
			(void)tcsetattr(fd, TCSAFLUSH, &pw_saved_tio);
			pw_tty_fd = -1;
			(void)sigaction(SIGINT, &old_int, NULL);
			(void)sigaction(SIGTERM, &old_term, NULL);
			(void)sigaction(SIGHUP, &old_hup, NULL);
		}
		fputs("\n", stderr);
		fflush(stderr);
		close(fd);
	}
	if (str_overflowed(dest)) {
		*error_r = "Password is too long";
		return -1;
	}
	return 0;
}

static bool pw_scheme_is_digest_md5(const char *scheme)
{
	return strncasecmp(scheme, "DIGEST-MD5", 10) == 0 &&
		(scheme[10] == '\0' || scheme[10] == '.');
}

static void pw_list_schemes(void)
{
	for (const char *const *name = password_scheme_names(); *name != NULL;
	     name++)
		printf("%s ", *name);
	printf("\n");
}

/* Ask for the password: once to verify, twice (until they agree, three
   tries) for a new hash. Returns 0, 1 (gave up) or PW_EXIT_FAILURE. */
static int pw_read_password(bool verify_only, string_t *plain)
{
	const char *error;
	int lives = PW_PROMPT_LIVES;

	if (verify_only) {
		if (pw_askpass("Enter password to verify: ", plain, &error) < 0)
			return pw_fatal("%s", error);
		return 0;
	}
	for (;;) {
		string_t *check = str_create_max(64, PW_MAX_PASSWORD_SIZE);
		bool same;

		str_truncate(plain, 0);
		check->secure = true;
		if (pw_askpass("Enter new password: ", plain, &error) < 0 ||
		    pw_askpass("Retype new password: ", check, &error) < 0) {
			str_free(&check);
			return pw_fatal("%s", error);
		}
		same = str_len(plain) == str_len(check) &&
			memcmp(str_data(plain), str_data(check),
			       str_len(plain)) == 0;
		str_free(&check);
		if (same)
			return 0;
		fprintf(stderr, "Error: Passwords don't match!\n");
		if (--lives == 0)
			return 1;
	}
}

/* Verify plain against hash ("{SCHEME}data" or "$1$..."), printing
   doveadm's messages. */
static int pw_reverse_verify(const char *hash, const string_t *plain,
			     const char *user)
{
	char scheme[PW_SCHEME_NAME_MAX];
	const char *data, *error;
	unsigned char *raw;
	size_t data_len, raw_len;
	int ret;

	if (!password_get_scheme(hash, scheme, sizeof(scheme), &data, &data_len))
		return pw_fatal("Missing {scheme} prefix from hash");
	if (password_decode(data, data_len, scheme, &raw, &raw_len,
			    &error) <= 0)
		return pw_fatal("reverse decode check failed: %s", error);
	if (user == NULL && pw_scheme_is_digest_md5(scheme)) {
		x_free_secret(raw, raw_len);
		return pw_fatal("digest_md5_generate(): username not given");
	}
	ret = password_verify_raw(str_data(plain), str_len(plain), scheme, user,
				  raw, raw_len, &error);
	x_free_secret(raw, raw_len);
	if (ret <= 0) {
		return pw_fatal("reverse password verification check failed: %s",
				error);
	}
	printf("{%s}%.*s (verified)\n", scheme, (int)data_len, data);
	return 0;
}

int cmd_pw(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "plaintext", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "scheme", required_argument, NULL, 's' },
		{ "test-hash", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "reverse-verify", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *scheme_arg = NULL, *test_hash = NULL, *user = NULL;
	const char *plaintext = NULL, *error;
	bool list = false, reverse_verify = false;
	unsigned int rounds = 0;
	char *scheme, *hash = NULL;
	string_t *plain;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "lp:r:s:t:u:V", long_options,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'p':
			plaintext = optarg;
			break;
		case 'r':
			/* doveadm silently ignores a non-numeric value; say
			   so instead of hashing with an unexpected cost */
			if (str_to_uint(optarg, &rounds) < 0)
				return pw_fatal("Invalid number of rounds: %s",
						optarg);
			break;
		case 's':
			scheme_arg = optarg;
			break;
		case 't':
			test_hash = optarg;
			reverse_verify = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			reverse_verify = true;
			break;
		default:
			/* getopt printed "pw: invalid option -- 'x'" */
			return PW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fputs("Error: Extraneous arguments found:", stderr);
		for (int i = optind; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
		return PW_EXIT_USAGE;
	}
	if (list) {
		pw_list_schemes();
		return 0;
	}

	scheme = x_strdup(scheme_arg != NULL ? scheme_arg : PW_DEFAULT_SCHEME);
	for (char *p = scheme; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	}

	plain = str_create_max(64, PW_MAX_PASSWORD_SIZE);
	plain->secure = true;
	if (plaintext != NULL) {
		str_append(plain, plaintext);
		ret = 0;
	} else {
		ret = pw_read_password(test_hash != NULL, plain);
	}
	if (ret != 0)
		goto out;

	if (user == NULL && pw_scheme_is_digest_md5(scheme)) {
		ret = pw_fatal("digest_md5_generate(): username not given");
		goto out;
	}
	if (password_generate(str_data(plain), str_len(plain), scheme, user,
			      rounds, &hash, &error) < 0) {
		if (!password_scheme_is_known(scheme))
			ret = pw_fatal("Unknown scheme: %s", scheme);
		else
			ret = pw_fatal("%s", error);
		goto out;
	}

	if (reverse_verify)
		ret = pw_reverse_verify(test_hash != NULL ? test_hash : hash,
					plain, user);
	else
		printf("%s\n", hash);
out:
	if (fflush(stdout) != 0 && ret == 0)
		ret = pw_fatal("write(stdout) failed: %s", strerror(errno));
	if (hash != NULL)
		x_free_secret(hash, strlen(hash));
	str_free(&plain);
	free(scheme);
	return ret;
}
