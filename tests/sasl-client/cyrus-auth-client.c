/* cyrus-auth-client: one SASL exchange against an auth server speaking the
   Dovecot auth client protocol 1.2, with Cyrus SASL (libsasl2) as the
   independent client side of the mechanism. Tests only.

   usage: cyrus-auth-client [options] SOCKET MECH
     SOCKET   a UNIX socket path, or HOST:PORT for TCP
     -u NAME  authentication id (SASL_CB_AUTHNAME)
     -p PASS  password / OTP pass phrase (SASL_CB_PASS)
     -z NAME  authorization id (SASL_CB_USER; default: none)
     -r REALM realm to answer DIGEST-MD5 with (SASL_CB_GETREALM; default: the
              first realm the server offered, else empty)
     -e NAME  external authentication id (SASL_AUTH_EXTERNAL, for EXTERNAL)
     -s SVC   service= on the AUTH line and the SASL service (default smtp)
     -H HOST  server host name given to libsasl2 (default localhost)
     -x PARAM extra AUTH parameter (repeatable), e.g. -x valid-client-cert
     -f       send final-resp-ok (server data may come with OK resp=)
     -n       no initial response on the AUTH line: wait for the server's
              empty CONT and send the first client message then

   Transcript (C:/S: lines, base64 decoded where printable) goes to stderr.
   The last stdout line is the result: the server's reply without its id,
   e.g. "OK\tuser=alice", "FAIL\tuser=alice", or NOMECH / ERROR ... .
   Exit status: 0 OK (and libsasl2 says the exchange is complete, so
   mutual authentication such as SCRAM's v= or DIGEST-MD5's rspauth was
   verified), 1 FAIL, 2 client/protocol error (including an OK that the
   client could not verify), 3 mechanism not offered by the server. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINE 16384
#define MAX_PARAMS 16
#define REQUEST_ID "1"

static const char *opt_user, *opt_pass, *opt_authzid, *opt_realm;
static sasl_secret_t *secret;

static int fd = -1;
static char inbuf[MAX_LINE * 2];
static size_t inbuf_len;

static void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("ERROR\t");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(status);
}

/* ------------------------------------------------------------ callbacks */

static int cb_simple(void *context, int id, const char **result,
		     unsigned int *len)
{
	const char *value = NULL;

	(void)context;
	switch (id) {
	case SASL_CB_AUTHNAME:
		value = opt_user;
		break;
	case SASL_CB_USER:
		value = opt_authzid != NULL ? opt_authzid : "";
		break;
	default:
		return SASL_BADPARAM;
	}
	if (value == NULL)
		return SASL_FAIL;
	*result = value;
	if (len != NULL)
		*len = strlen(value);
	return SASL_OK;
}

static int cb_pass(sasl_conn_t *conn, void *context, int id,
		   sasl_secret_t **psecret)
{
	size_t len;

	(void)conn;
	(void)context;
	if (id != SASL_CB_PASS || opt_pass == NULL)
		return SASL_FAIL;
	if (secret == NULL) {
		len = strlen(opt_pass);
		secret = malloc(sizeof(*secret) + len + 1);
		if (secret == NULL)
			return SASL_NOMEM;
		secret->len = len;
		memcpy(secret->data, opt_pass, len + 1);
	}
	*psecret = secret;
	return SASL_OK;
}

static int cb_realm(void *context, int id, const char **availrealms,
		    const char **result)
{
	(void)context;
	if (id != SASL_CB_GETREALM)
		return SASL_FAIL;
	if (opt_realm != NULL)
		*result = opt_realm;
	else if (availrealms != NULL && availrealms[0] != NULL)
		*result = availrealms[0];
	else
		*result = "";
	return SASL_OK;
}

/* sasl_callback_t wants int (*)(void); go through the generic function
   pointer type so -Wcast-function-type stays quiet. */
#define CB(fn) ((int (*)(void))(void (*)(void))(fn))

static sasl_callback_t callbacks[] = {
	{ SASL_CB_AUTHNAME, CB(cb_simple), NULL },
	{ SASL_CB_USER, CB(cb_simple), NULL },
	{ SASL_CB_PASS, CB(cb_pass), NULL },
	{ SASL_CB_GETREALM, CB(cb_realm), NULL },
	{ SASL_CB_LIST_END, NULL, NULL },
};

/* ------------------------------------------------------------ socket I/O */

static void connect_to(const char *address)
{
	const char *colon = strrchr(address, ':');

	if (address[0] == '/' || colon == NULL) {
		struct sockaddr_un sun;

		if (strlen(address) >= sizeof(sun.sun_path))
			die(2, "socket path too long: %s", address);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strcpy(sun.sun_path, address);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			die(2, "connect(%s): %s", address, strerror(errno));
	} else {
		struct addrinfo hints, *ai;
		char host[256];
		size_t hlen = (size_t)(colon - address);
		int ret;

		if (hlen >= sizeof(host))
			die(2, "host name too long");
		memcpy(host, address, hlen);
		host[hlen] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		ret = getaddrinfo(host, colon + 1, &hints, &ai);
		if (ret != 0)
			die(2, "getaddrinfo(%s): %s", address, gai_strerror(ret));
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			die(2, "connect(%s): %s", address, strerror(errno));
		freeaddrinfo(ai);
	}
}

static void send_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(2, "write: %s", strerror(errno));
		}
		data += n;
		len -= (size_t)n;
	}
}

/* Next line without its LF (static buffer, valid until the next call). */
static char *read_line(void)
{
	static char line[MAX_LINE * 2];
	char *lf;

	while ((lf = memchr(inbuf, '\n', inbuf_len)) == NULL) {
		ssize_t n;

		if (inbuf_len == sizeof(inbuf))
			die(2, "server line too long");
		n = read(fd, inbuf + inbuf_len, sizeof(inbuf) - inbuf_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(2, "read: %s", strerror(errno));
		if (n == 0)
			die(2, "server closed the connection");
		inbuf_len += (size_t)n;
	}
	memcpy(line, inbuf, (size_t)(lf - inbuf));
	line[lf - inbuf] = '\0';
	inbuf_len -= (size_t)(lf - inbuf) + 1;
	memmove(inbuf, lf + 1, inbuf_len);
	return line;
}

/* ------------------------------------------------------------ helpers */

static void show_data(const char *prefix, const char *data, size_t len)
{
	size_t i;

	fprintf(stderr, "%s", prefix);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (isprint(c) && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "]\n");
}

static char *b64_encode(const char *data, unsigned int len)
{
	unsigned int outmax = (len + 2) / 3 * 4 + 1, outlen;
	char *out = malloc(outmax);

	if (out == NULL)
		die(2, "out of memory");
	if (len == 0) {
		out[0] = '\0';
		return out;
	}
	if (sasl_encode64(data, len, out, outmax, &outlen) != SASL_OK)
		die(2, "sasl_encode64 failed");
	out[outlen] = '\0';
	return out;
}

static char *b64_decode(const char *text, unsigned int *len_r)
{
	unsigned int inlen = strlen(text);
	char *out = malloc(inlen / 4 * 3 + 4);

	if (out == NULL)
		die(2, "out of memory");
	*len_r = 0;
	if (inlen == 0) {
		out[0] = '\0';
		return out;
	}
	if (sasl_decode64(text, inlen, out, inlen / 4 * 3 + 3, len_r) != SASL_OK)
		die(2, "server sent invalid base64: %s", text);
	out[*len_r] = '\0';
	return out;
}

static void send_cont(const char *data, unsigned int len)
{
	char *enc = b64_encode(data, len);
	size_t n = strlen(enc) + 32;
	char *line = malloc(n);

	if (line == NULL)
		die(2, "out of memory");
	snprintf(line, n, "CONT\t" REQUEST_ID "\t%s\n", enc);
	fprintf(stderr, "C: CONT\t" REQUEST_ID "\t%s", enc);
	show_data("   [", data, len);
	send_all(line, strlen(line));
	free(line);
	free(enc);
}

static int split_fields(char *line, char **fields, int max)
{
	int n = 0;

	fields[n++] = line;
	for (char *p = line; *p != '\0' && n < max; p++) {
		if (*p == '\t') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	}
	return n;
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
	fprintf(stderr, "usage: cyrus-auth-client [-u user] [-p pass] [-z authzid] "
		"[-r realm] [-e external-id] [-s service] [-H host] [-x param]... "
		"[-f] [-n] SOCKET MECH\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *service = "smtp", *host = "localhost", *external_id = NULL;
	const char *params[MAX_PARAMS];
	int nparams = 0, final_resp_ok = 0, no_initial = 0, opt;
	const char *address, *mech, *chosen = NULL, *out = NULL;
	unsigned int outlen = 0;
	sasl_conn_t *conn;
	sasl_interact_t *interact = NULL;
	sasl_security_properties_t secprops;
	int ret, client_done, mech_offered = 0;
	char *line, cpid[64];

	while ((opt = getopt(argc, argv, "u:p:z:r:e:s:H:x:fn")) != -1) {
		switch (opt) {
		case 'u': opt_user = optarg; break;
		case 'p': opt_pass = optarg; break;
		case 'z': opt_authzid = optarg; break;
		case 'r': opt_realm = optarg; break;
		case 'e': external_id = optarg; break;
		case 's': service = optarg; break;
		case 'H': host = optarg; break;
		case 'x':
			if (nparams == MAX_PARAMS)
				usage();
			params[nparams++] = optarg;
			break;
		case 'f': final_resp_ok = 1; break;
		case 'n': no_initial = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	address = argv[optind];
	mech = argv[optind + 1];
	setvbuf(stderr, NULL, _IOLBF, 0);

	/* handshake: we send ours at once, then read up to DONE */
	connect_to(address);
	snprintf(cpid, sizeof(cpid), "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	send_all(cpid, strlen(cpid));
	for (;;) {
		char *f[4];
		int n;

		line = read_line();
		fprintf(stderr, "S: %s\n", line);
		n = split_fields(line, f, 4);
		if (strcmp(f[0], "MECH") == 0 && n >= 2 &&
		    strcasecmp(f[1], mech) == 0)
			mech_offered = 1;
		else if (strcmp(f[0], "DONE") == 0)
			break;
	}
	if (!mech_offered) {
		printf("NOMECH\t%s\n", mech);
		return 3;
	}

	ret = sasl_client_init(callbacks);
	if (ret != SASL_OK)
		die(2, "sasl_client_init: %s", sasl_errstring(ret, NULL, NULL));
	ret = sasl_client_new(service, host, NULL, NULL, callbacks, 0, &conn);
	if (ret != SASL_OK)
		die(2, "sasl_client_new: %s", sasl_errstring(ret, NULL, NULL));
	/* no security layers (the auth protocol has none), and allow
	   plaintext and anonymous mechanisms: the test picks the mechanism */
	memset(&secprops, 0, sizeof(secprops));
	secprops.min_ssf = 0;
	secprops.max_ssf = 0;
	secprops.maxbufsize = 65536;
	secprops.security_flags = 0;
	ret = sasl_setprop(conn, SASL_SEC_PROPS, &secprops);
	if (ret != SASL_OK)
		die(2, "sasl_setprop(SEC_PROPS): %s", sasl_errdetail(conn));
	if (external_id != NULL) {
		sasl_ssf_t ssf = 0;

		ret = sasl_setprop(conn, SASL_AUTH_EXTERNAL, external_id);
		if (ret == SASL_OK)
			ret = sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf);
		if (ret != SASL_OK)
			die(2, "sasl_setprop(EXTERNAL): %s", sasl_errdetail(conn));
	}

	do {
		ret = sasl_client_start(conn, mech, &interact, &out, &outlen,
					&chosen);
	} while (ret == SASL_INTERACT && interact != NULL && interact->id == 0);
	if (ret != SASL_OK && ret != SASL_CONTINUE)
		die(2, "sasl_client_start(%s): %s", mech, sasl_errdetail(conn));
	if (strcasecmp(chosen, mech) != 0)
		die(2, "libsasl2 chose %s instead of %s", chosen, mech);
	client_done = ret == SASL_OK;

	/* AUTH line */
	{
		char *enc = out != NULL ? b64_encode(out, outlen) : NULL;
		size_t n = 128 + strlen(service) + strlen(mech) +
			(enc != NULL ? strlen(enc) : 0);
		char *auth;

		for (int i = 0; i < nparams; i++)
			n += strlen(params[i]) + 1;
		auth = malloc(n);
		if (auth == NULL)
			die(2, "out of memory");
		snprintf(auth, n, "AUTH\t" REQUEST_ID "\t%s\tservice=%s", mech,
			 service);
		for (int i = 0; i < nparams; i++) {
			strcat(auth, "\t");
			strcat(auth, params[i]);
		}
		if (final_resp_ok)
			strcat(auth, "\tfinal-resp-ok");
		if (enc != NULL && !no_initial) {
			strcat(auth, "\tresp=");
			/* an empty initial response is "=" (spec 2.2) */
			strcat(auth, enc[0] == '\0' ? "=" : enc);
		}
		fprintf(stderr, "C: %s", auth);
		if (out != NULL && !no_initial)
			show_data("   [", out, outlen);
		else
			fprintf(stderr, "\n");
		strcat(auth, "\n");
		send_all(auth, strlen(auth));
		free(auth);
		free(enc);
	}
	if (out == NULL)
		no_initial = 0;   /* server-first: nothing held back */

	for (;;) {
		char *f[MAX_LINE / 2];
		int n;

		line = read_line();
		n = split_fields(line, f, MAX_LINE / 2);
		if (n < 2 || strcmp(f[1], REQUEST_ID) != 0) {
			fprintf(stderr, "S: %s\n", line);
			die(2, "unexpected server line");
		}
		if (strcmp(f[0], "CONT") == 0) {
			unsigned int inlen;
			char *in = b64_decode(n >= 3 ? f[2] : "", &inlen);

			fprintf(stderr, "S: CONT\t%s\t%s", f[1], n >= 3 ? f[2] : "");
			show_data("   [", in, inlen);
			if (no_initial) {
				/* the held-back initial response */
				if (inlen != 0)
					die(2, "expected an empty CONT before the initial response");
				no_initial = 0;
				send_cont(out, outlen);
				free(in);
				continue;
			}
			if (client_done)
				die(2, "server sent CONT after libsasl2 finished the exchange");
			out = NULL;
			outlen = 0;
			ret = sasl_client_step(conn, in, inlen, &interact, &out,
					       &outlen);
			free(in);
			if (ret != SASL_OK && ret != SASL_CONTINUE)
				die(2, "sasl_client_step: %s", sasl_errdetail(conn));
			client_done = ret == SASL_OK;
			send_cont(out != NULL ? out : "", out != NULL ? outlen : 0);
		} else if (strcmp(f[0], "OK") == 0 || strcmp(f[0], "FAIL") == 0) {
			int ok = strcmp(f[0], "OK") == 0;
			const char *final = NULL;

			/* print the fields before libsasl2 sees any final data */
			fprintf(stderr, "S:");
			for (int i = 0; i < n; i++) {
				fprintf(stderr, "%s%s", i == 0 ? " " : "\t", f[i]);
				if (ok && strncmp(f[i], "resp=", 5) == 0)
					final = f[i] + 5;
			}
			fprintf(stderr, "\n");
			if (ok && final != NULL) {
				unsigned int inlen;
				char *in = b64_decode(final, &inlen);

				show_data("   final server data [", in, inlen);
				if (client_done)
					die(2, "OK carries resp= but libsasl2 already finished");
				out = NULL;
				ret = sasl_client_step(conn, in, inlen, &interact,
						       &out, &outlen);
				free(in);
				if (ret != SASL_OK)
					die(2, "server said OK, but libsasl2 rejects its "
					    "final data: %s", sasl_errdetail(conn));
				if (out != NULL && outlen != 0)
					die(2, "libsasl2 wants to send more after OK");
				client_done = 1;
			}
			if (ok && !client_done)
				die(2, "server said OK before libsasl2 finished the "
				    "exchange (server not verified)");
			for (int i = 0; i < n; i++)
				if (i != 1)
					printf("%s%s", i == 0 ? "" : "\t", f[i]);
			printf("\n");
			fflush(stdout);
			sasl_dispose(&conn);
			sasl_client_done();
			close(fd);
			return ok ? 0 : 1;
		} else {
			fprintf(stderr, "S: %s\n", line);
			die(2, "unexpected server reply %s", f[0]);
		}
	}
}
