/* Reading the whole configuration: parse, bind master + auth settings,
   check, print. */
#include "lib.h"
#include "roost-settings.h"
#include "config-parser.h"
#include "pool.h"
#include "settings.h"
#include "str.h"

#include <stdlib.h>

static void roots_init(struct settings_root roots[2],
		       const struct roost_settings *set)
{
	roots[0].info = &master_settings_info;
	roots[0].set = set->master;
	roots[1].info = &auth_settings_info;
	roots[1].set = set->auth;
}

/* Settings at their defaults, including the default services; the
   default_* values that services inherit are taken from like (if not
   NULL), so that printing compares inherited values fairly. */
static struct roost_settings *
settings_create_defaults(const struct roost_settings *like)
{
	struct pool *pool = pool_create("settings", 8192);
	struct roost_settings *set;

	set = pool_alloc(pool, sizeof(*set));
	set->pool = pool;
	set->master = settings_new(&master_settings_info, pool);
	set->auth = settings_new(&auth_settings_info, pool);
	master_settings_add_default_services(set->master, pool);
	if (like != NULL) {
		const struct master_settings *m = like->master;
		set->master->default_internal_user = m->default_internal_user;
		set->master->default_internal_group = m->default_internal_group;
		set->master->default_login_user = m->default_login_user;
		set->master->default_process_limit = m->default_process_limit;
		set->master->default_client_limit = m->default_client_limit;
		set->master->default_vsz_limit = m->default_vsz_limit;
		set->master->default_idle_kill = m->default_idle_kill;
	}
	return set;
}

struct lookup_context {
	struct settings_root roots[2];
	struct pool *pool;
};

static const char *
lookup_default(const struct config_node *section ATTR_UNUSED,
	       const char *key, void *context)
{
	struct lookup_context *ctx = context;

	return settings_roots_default(ctx->roots, N_ELEMENTS(ctx->roots),
				      key, ctx->pool);
}

/* Dovecot compatibility: a plain auth_cache_size below 1024 means
   megabytes (what old versions used). */
static void compat_auth_cache_size(struct config_node *root, struct pool *pool)
{
	struct config_node *node;
	unsigned int num;

	for (node = root->children; node != NULL; node = node->next) {
		if (node->type != CONFIG_NODE_KEY ||
		    strcmp(node->key, "auth_cache_size") != 0)
			continue;
		if (str_to_uint(node->value, &num) == 0 && num > 0 && num < 1024)
			node->value = pool_printf(pool, "%u M", num);
	}
}

/* ---- protocol { } blocks ------------------------------------------------ */

static struct config_node *node_copy(struct pool *pool, const struct config_node *src)
{
	struct config_node *node = pool_alloc(pool, sizeof(*node));
	*node = *src;
	node->next = NULL;
	return node;
}

static void node_append(struct config_node *parent, struct config_node *node)
{
	if (parent->children_tail == NULL)
		parent->children = node;
	else
		parent->children_tail->next = node;
	parent->children_tail = node;
}

static void render_node(string_t *out, const struct config_node *node, unsigned int depth)
{
	for (const struct config_node *n = node->children; n != NULL; n = n->next) {
		for (unsigned int i = 0; i < depth; i++)
			str_append(out, "  ");
		if (n->type == CONFIG_NODE_KEY) {
			str_printfa(out, "%s = %s\n", n->key, n->value);
		} else {
			str_printfa(out, "%s%s%s {\n", n->key, *n->value != '\0' ? " " : "",
				    n->value);
			render_node(out, n, depth + 1);
			for (unsigned int i = 0; i < depth; i++)
				str_append(out, "  ");
			str_append(out, "}\n");
		}
	}
}

/* Take the protocol sections out of the root (the global binding must not
   see them) and check what they contain. */
static int protocols_detach(struct config_node *root, struct pool *pool,
			    struct config_node ***list_r, unsigned int *count_r,
			    const char **error_r)
{
	struct config_node **list = NULL, *prev = NULL, *next;
	unsigned int count = 0;

	for (struct config_node *n = root->children; n != NULL; n = next) {
		next = n->next;
		if (n->type != CONFIG_NODE_SECTION || strcmp(n->key, "protocol") != 0) {
			prev = n;
			continue;
		}
		if (*n->value == '\0' || strchr(n->value, ' ') != NULL || n->value[0] == '!') {
			*error_r = pool_printf(pool, "%s:%u: protocol section needs one "
				"protocol name (%s): roost supports protocol NAME { }",
				n->file, n->line, *n->value == '\0' ? "none given" : n->value);
			return -1;
		}
		for (const struct config_node *c = n->children; c != NULL; c = c->next) {
			bool ok = c->type == CONFIG_NODE_SECTION ?
				(strcmp(c->key, "passdb") == 0 || strcmp(c->key, "userdb") == 0) :
				settings_find_def(&auth_settings_info, c->key) != NULL;
			if (!ok) {
				*error_r = pool_printf(pool, "%s:%u: %s%s inside protocol %s { }: "
					"roost supports auth settings, passdb and userdb there",
					c->file, c->line, c->key,
					c->type == CONFIG_NODE_SECTION ? " section" : "", n->value);
				return -1;
			}
		}
		/* unlink */
		if (prev == NULL)
			root->children = next;
		else
			prev->next = next;
		if (root->children_tail == n)
			root->children_tail = prev;
		n->next = NULL;
		struct config_node **grown = pool_alloc(pool, sizeof(*grown) * (count + 1));
		if (count > 0)
			memcpy(grown, list, sizeof(*grown) * count);
		grown[count++] = n;
		list = grown;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

/* The global tree as the protocol sees it: its passdb/userdb sections
   first, then the global children, then its settings (the last value of a
   key wins). */
static int protocol_bind(struct roost_settings *set, const struct config_node *root,
			 const struct config_node *proto, const char *path,
			 struct pool *tmp_pool, struct pool *err_pool,
			 const char **error_r)
{
	struct config_node *merged = node_copy(tmp_pool, root);
	const char *error;

	merged->children = merged->children_tail = NULL;
	for (const struct config_node *c = proto->children; c != NULL; c = c->next) {
		if (c->type == CONFIG_NODE_SECTION)
			node_append(merged, node_copy(tmp_pool, c));
	}
	for (const struct config_node *c = root->children; c != NULL; c = c->next)
		node_append(merged, node_copy(tmp_pool, c));
	for (const struct config_node *c = proto->children; c != NULL; c = c->next) {
		if (c->type == CONFIG_NODE_KEY)
			node_append(merged, node_copy(tmp_pool, c));
	}

	struct roost_protocol_settings *ps = pool_alloc(set->pool, sizeof(*ps));
	struct settings_root roots[2];
	ps->name = pool_strdup(set->pool, proto->value);
	ps->def_file = pool_strdup(set->pool, proto->file);
	ps->def_line = proto->line;
	ps->auth = settings_new(&auth_settings_info, set->pool);
	/* the global (master) settings again, thrown away */
	roots[0].info = &master_settings_info;
	roots[0].set = settings_new(&master_settings_info, set->pool);
	master_settings_add_default_services(roots[0].set, set->pool);
	roots[1].info = &auth_settings_info;
	roots[1].set = ps->auth;
	int ret = settings_bind_roots(roots, N_ELEMENTS(roots), merged, set->pool, &error);
	settings_free_arrays(&master_settings_info, roots[0].set);
	if (ret < 0) {
		*error_r = pool_strdup(err_pool, error);
		settings_free_arrays(&auth_settings_info, ps->auth);
		return -1;
	}
	if (auth_settings_check(ps->auth, set->pool, &error) < 0) {
		*error_r = pool_printf(err_pool, "%s: protocol %s: %s", path, ps->name, error);
		settings_free_arrays(&auth_settings_info, ps->auth);
		return -1;
	}
	string_t *text = str_create(256);
	str_printfa(text, "protocol %s {\n", ps->name);
	render_node(text, proto, 1);
	str_append(text, "}\n");
	ps->text = pool_strdup(set->pool, str_c(text));
	str_free(&text);

	struct roost_protocol_settings **grown =
		pool_alloc(set->pool, sizeof(*grown) * (set->protocol_count + 2));
	if (set->protocol_count > 0)
		memcpy(grown, set->protocols, sizeof(*grown) * set->protocol_count);
	grown[set->protocol_count++] = ps;
	grown[set->protocol_count] = NULL;
	set->protocols = grown;
	return 0;
}

static int settings_read_tree(struct roost_settings *set,
			      struct config_tree *tree, const char *path,
			      struct pool *err_pool, const char **error_r)
{
	struct settings_root roots[2];
	struct config_node **protocols;
	unsigned int protocol_count;
	const char *error;

	compat_auth_cache_size(tree->root, set->pool);
	if (protocols_detach(tree->root, set->pool, &protocols, &protocol_count, &error) < 0) {
		*error_r = pool_strdup(err_pool, error);
		return -1;
	}
	roots_init(roots, set);
	if (settings_bind_roots(roots, N_ELEMENTS(roots), tree->root,
				set->pool, &error) < 0) {
		*error_r = pool_strdup(err_pool, error);
		return -1;
	}
	if (auth_settings_check(set->auth, set->pool, &error) < 0) {
		*error_r = pool_printf(err_pool, "%s: %s", path, error);
		return -1;
	}
	for (unsigned int i = 0; i < protocol_count; i++) {
		for (unsigned int j = 0; j < i; j++) {
			if (strcmp(protocols[i]->value, protocols[j]->value) == 0) {
				*error_r = pool_printf(err_pool, "%s:%u: protocol %s { } "
					"given twice (first at %s:%u)", protocols[i]->file,
					protocols[i]->line, protocols[i]->value,
					protocols[j]->file, protocols[j]->line);
				return -1;
			}
		}
		struct pool *tmp_pool = pool_create("protocol merge", 1024);
		int ret = protocol_bind(set, tree->root, protocols[i], path, tmp_pool,
					err_pool, error_r);
		pool_destroy(&tmp_pool);
		if (ret < 0)
			return -1;
	}
	master_settings_resolve(set->master, set->pool);
	return 0;
}

static int settings_read(const char *path, const char *text,
			 struct roost_settings **set_r,
			 struct pool *err_pool, const char **error_r)
{
	struct roost_settings *set;
	struct pool *parse_pool;
	struct config_tree *tree;
	struct config_parse_settings parse_set;
	struct lookup_context lookup;
	const char *error;
	int ret;

	*set_r = NULL;
	set = settings_create_defaults(NULL);
	set->config_path = pool_strdup(set->pool, path);

	parse_pool = pool_create("config parse", 16384);
	memset(&lookup, 0, sizeof(lookup));
	roots_init(lookup.roots, set);
	lookup.pool = parse_pool;
	memset(&parse_set, 0, sizeof(parse_set));
	parse_set.lookup_default = lookup_default;
	parse_set.context = &lookup;

	if (text == NULL) {
		ret = config_parse_file(path, &parse_set, parse_pool, &tree,
					&error);
	} else {
		ret = config_parse_string(text, path, &parse_set, parse_pool,
					  &tree, &error);
	}
	if (ret < 0) {
		*error_r = pool_strdup(err_pool, error);
	} else {
		set->warnings = pool_alloc(set->pool, (tree->warning_count + 1) *
					   sizeof(*set->warnings));
		for (unsigned int i = 0; i < tree->warning_count; i++) {
			set->warnings[i] = pool_strdup(set->pool,
						       tree->warnings[i]);
		}
		set->warning_count = tree->warning_count;
		ret = settings_read_tree(set, tree, path, err_pool, error_r);
	}
	pool_destroy(&parse_pool);
	if (ret < 0) {
		roost_settings_free(&set);
		return -1;
	}
	*set_r = set;
	return 0;
}

int roost_settings_read(const char *path, struct roost_settings **set_r,
			struct pool *err_pool, const char **error_r)
{
	return settings_read(path, NULL, set_r, err_pool, error_r);
}

int roost_settings_read_string(const char *text, const char *name,
			       struct roost_settings **set_r,
			       struct pool *err_pool, const char **error_r)
{
	return settings_read(name, text, set_r, err_pool, error_r);
}

void roost_settings_free(struct roost_settings **_set)
{
	struct roost_settings *set = *_set;
	struct pool *pool;

	if (set == NULL)
		return;
	*_set = NULL;
	settings_free_arrays(&master_settings_info, set->master);
	settings_free_arrays(&auth_settings_info, set->auth);
	for (unsigned int i = 0; i < set->protocol_count; i++)
		settings_free_arrays(&auth_settings_info, set->protocols[i]->auth);
	pool = set->pool;
	pool_destroy(&pool);
}

void roost_settings_print(const struct roost_settings *set, bool only_changed,
			  string_t *out)
{
	struct settings_root roots[2], default_roots[2];
	struct roost_settings *defaults;

	/* services compare against defaults resolved with the same
	   default_* values; the top level against the real defaults */
	defaults = settings_create_defaults(set);
	master_settings_resolve(defaults->master, defaults->pool);
	settings_set_defaults(&master_settings_info, defaults->master,
			      defaults->pool);
	roots_init(roots, set);
	roots_init(default_roots, defaults);
	settings_print_roots(roots, default_roots, N_ELEMENTS(roots),
			     only_changed, out);
	for (unsigned int i = 0; i < set->protocol_count; i++)
		str_append(out, set->protocols[i]->text);
	roost_settings_free(&defaults);
}

const struct service_settings *
roost_settings_find_service(const struct roost_settings *set, const char *name)
{
	for (size_t i = 0; i < set->master->services.count; i++) {
		if (strcmp(set->master->services.v[i]->name, name) == 0)
			return set->master->services.v[i];
	}
	return NULL;
}
