/* Service listeners: from the settings to specs, from specs to sockets. */
#include "lib.h"
#include "log.h"
#include "master.h"

#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

static char *def_where(const char *file, unsigned int line)
{
	if (file == NULL || file[0] == '\0')
		return x_strdup("(default)");
	return x_printf("%s:%u", file, line);
}

static bool str_has_space(const char *s)
{
	return strpbrk(s, " \t\r\n") != NULL;
}

static const char *path_basename(const char *path)
{
	const char *p = strrchr(path, '/');

	return p == NULL ? path : p + 1;
}

static int unix_spec_get(struct master_context *ctx,
			 const struct unix_listener_settings *set,
			 master_listener_spec_array_t *specs, char **error_r)
{
	struct master_listener_spec *spec;
	char *where;
	bool as_root = geteuid() == 0;

	/* Dovecot: mode 0 disables the listener. */
	if (set->mode == 0)
		return 0;
	where = def_where(set->def_file, set->def_line);
	if (set->path == NULL || set->path[0] == '\0' ||
	    path_basename(set->path)[0] == '\0') {
		*error_r = x_printf("%s: unix_listener has no file name", where);
		free(where);
		return -1;
	}
	/* ROOST_LISTENERS is space-separated without quoting */
	if (str_has_space(path_basename(set->path))) {
		*error_r = x_printf("%s: unix_listener %s: file name must not "
				    "contain spaces", where, set->path);
		free(where);
		return -1;
	}
	spec = array_append_space(specs);
	spec->is_unix = true;
	spec->path = master_path_join(ctx->base_dir, set->path);
	spec->name = x_strdup(path_basename(spec->path));
	spec->mode = set->mode;
	/* Not root: everything runs as the invoking user (development mode),
	   so the socket's owner can't be changed anyway. */
	spec->user = x_strdup(as_root && set->user != NULL ? set->user : "");
	spec->group = x_strdup(as_root && set->group != NULL ? set->group : "");
	spec->address = x_strdup("");
	spec->def_where = where;
	return 0;
}

static bool spec_address_exists(const master_listener_spec_array_t *specs,
				 size_t first, const char *address)
{
	for (size_t i = first; i < specs->count; i++) {
		if (strcmp(specs->v[i].address, address) == 0)
			return true;
	}
	return false;
}

static void inet_spec_add(master_listener_spec_array_t *specs, size_t first,
			  const struct inet_listener_settings *set,
			  const char *address, const char *where)
{
	struct master_listener_spec *spec;

	if (spec_address_exists(specs, first, address))
		return;
	spec = array_append_space(specs);
	spec->is_unix = false;
	spec->name = x_strdup(set->name);
	spec->path = x_strdup("");
	spec->user = x_strdup("");
	spec->group = x_strdup("");
	spec->address = x_strdup(address);
	spec->port = set->port;
	spec->reuse_port = set->reuse_port;
	spec->def_where = x_strdup(where);
}

/* A host name in an address list binds every address it resolves to. */
static int inet_resolve_add(master_listener_spec_array_t *specs, size_t first,
			    const struct inet_listener_settings *set,
			    const char *host, const char *where, char **error_r)
{
	struct addrinfo hints, *ai, *cur;
	char addr[NI_MAXHOST];
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ret = getaddrinfo(host, NULL, &hints, &ai);
	if (ret != 0) {
		*error_r = x_printf("%s: inet_listener %s: can't resolve address "
				    "'%s': %s", where, set->name, host,
				    gai_strerror(ret));
		return -1;
	}
	for (cur = ai; cur != NULL; cur = cur->ai_next) {
		if (getnameinfo(cur->ai_addr, cur->ai_addrlen, addr, sizeof(addr),
				NULL, 0, NI_NUMERICHOST) == 0)
			inet_spec_add(specs, first, set, addr, where);
	}
	freeaddrinfo(ai);
	return 0;
}

static bool address_is_literal(const char *address)
{
	struct addrinfo hints, *ai;
	char *host;
	size_t len = strlen(address);

	if (strcmp(address, "*") == 0 || strcmp(address, "::") == 0)
		return true;
	if (len > 2 && address[0] == '[' && address[len - 1] == ']')
		host = x_strndup(address + 1, len - 2);
	else
		host = x_strdup(address);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0) {
		free(host);
		return false;
	}
	freeaddrinfo(ai);
	free(host);
	return true;
}

static int inet_spec_get(const struct master_settings *mset,
			 const struct inet_listener_settings *set,
			 master_listener_spec_array_t *specs, char **error_r)
{
	const char *list;
	char *copy, *token, *saveptr = NULL, *where;
	size_t first = specs->count;
	int ret = 0;

	/* Dovecot: port 0 disables the listener. */
	if (set->port == 0)
		return 0;
	where = def_where(set->def_file, set->def_line);
	if (set->name == NULL || set->name[0] == '\0' || str_has_space(set->name)) {
		*error_r = x_printf("%s: inet_listener needs a name without spaces",
				    where);
		free(where);
		return -1;
	}
	if (set->port > 65535) {
		*error_r = x_printf("%s: inet_listener %s: invalid port %u",
				    where, set->name, set->port);
		free(where);
		return -1;
	}
	list = set->address != NULL && set->address[0] != '\0' ?
		set->address : mset->listen;
	/* "*, ::" - Dovecot accepts commas and spaces; an empty list means
	   no inet listeners at all. */
	copy = x_strdup(list != NULL ? list : "");
	for (token = strtok_r(copy, ", \t", &saveptr);
	     token != NULL && ret == 0;
	     token = strtok_r(NULL, ", \t", &saveptr)) {
		if (address_is_literal(token))
			inet_spec_add(specs, first, set, token, where);
		else
			ret = inet_resolve_add(specs, first, set, token, where,
					       error_r);
	}
	free(copy);
	free(where);
	return ret;
}

int master_listener_specs_get(struct master_context *ctx,
			      const struct master_settings *mset,
			      const struct service_settings *set,
			      master_listener_spec_array_t *specs,
			      char **error_r)
{
	*error_r = NULL;
	for (size_t i = 0; i < set->unix_listeners.count; i++) {
		if (unix_spec_get(ctx, set->unix_listeners.v[i], specs, error_r) < 0)
			return -1;
	}
	for (size_t i = 0; i < set->inet_listeners.count; i++) {
		if (inet_spec_get(mset, set->inet_listeners.v[i], specs, error_r) < 0)
			return -1;
	}
	/* two listeners on one socket path can't both be bound */
	for (size_t i = 0; i < specs->count; i++) {
		for (size_t j = i + 1; j < specs->count; j++) {
			if (specs->v[i].is_unix && specs->v[j].is_unix &&
			    strcmp(specs->v[i].path, specs->v[j].path) == 0) {
				*error_r = x_printf("%s: unix_listener %s is "
						    "defined twice (also at %s)",
						    specs->v[j].def_where,
						    specs->v[j].path,
						    specs->v[i].def_where);
				return -1;
			}
		}
	}
	return 0;
}

void master_listener_spec_free_members(struct master_listener_spec *spec)
{
	x_free(spec->name);
	x_free(spec->path);
	x_free(spec->user);
	x_free(spec->group);
	x_free(spec->address);
	x_free(spec->def_where);
}

bool master_listener_spec_can_keep(const struct master_listener_spec *old,
				   const struct master_listener_spec *new)
{
	if (old->is_unix != new->is_unix)
		return false;
	if (old->is_unix) {
		/* a changed mode or owner re-creates the socket: unlinking
		   the old path frees it at once */
		return strcmp(old->path, new->path) == 0 &&
			old->mode == new->mode &&
			strcmp(old->user, new->user) == 0 &&
			strcmp(old->group, new->group) == 0;
	}
	/* Same address and port: keep the socket even if the name or
	   reuse_port changed. A new socket couldn't be bound while the old
	   child still holds the old one. */
	return strcmp(old->address, new->address) == 0 &&
		old->port == new->port;
}

struct master_listener *
master_listener_create(struct master_listener_spec *spec, char **error_r)
{
	struct master_listener *listener;
	struct stat st;
	int fd;

	if (spec->is_unix) {
		fd = listen_unix(spec->path, spec->mode, spec->user, spec->group,
				 error_r);
	} else {
		fd = listen_inet(spec->address, spec->port, spec->reuse_port,
				 error_r);
	}
	if (fd < 0)
		return NULL;

	listener = x_malloc(sizeof(*listener));
	listener->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	listener->l.fd = fd;
	listener->l.is_unix = listener->spec.is_unix;
	listener->l.name = x_strdup(listener->spec.name);
	if (listener->spec.is_unix) {
		listener->l.path = x_strdup(listener->spec.path);
		if (lstat(listener->spec.path, &st) == 0) {
			listener->dev = st.st_dev;
			listener->ino = st.st_ino;
			listener->have_file = true;
		}
	} else if (strchr(listener->spec.address, ':') != NULL) {
		listener->l.path = x_printf("[%s]:%u", listener->spec.address,
					    listener->spec.port);
	} else {
		listener->l.path = x_printf("%s:%u", listener->spec.address,
					    listener->spec.port);
	}
	return listener;
}

void master_listener_destroy(struct master_listener **_listener)
{
	struct master_listener *listener = *_listener;
	struct stat st;

	if (listener == NULL)
		return;
	*_listener = NULL;
	if (listener->l.fd >= 0)
		close(listener->l.fd);
	/* Only remove the file if it is still the socket we created: someone
	   may have replaced it (e.g. another server started on that path). */
	if (listener->have_file && lstat(listener->spec.path, &st) == 0 &&
	    st.st_dev == listener->dev && st.st_ino == listener->ino &&
	    unlink(listener->spec.path) < 0 && errno != ENOENT)
		log_warning("unlink(%s) failed: %s", listener->spec.path,
			    strerror(errno));
	listener_free_members(&listener->l);
	master_listener_spec_free_members(&listener->spec);
	free(listener);
}
