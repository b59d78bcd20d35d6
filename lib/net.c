#include "lib.h"
#include "net.h"

#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/socket.h>

int net_addr_parse(const char *text, struct ip_addr *ip_r)
{
	memset(ip_r, 0, sizeof(*ip_r));
	if (inet_pton(AF_INET, text, ip_r->addr) == 1) {
		ip_r->family = AF_INET;
		return 0;
	}
	/* [v6] brackets are accepted */
	char buf[64];
	size_t len = strlen(text);
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, len - 2);
		buf[len - 2] = '\0';
		text = buf;
	}
	if (inet_pton(AF_INET6, text, ip_r->addr) == 1) {
		static const unsigned char v4mapped[12] =
			{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(ip_r->addr, v4mapped, 12) == 0) {
			memmove(ip_r->addr, ip_r->addr + 12, 4);
			memset(ip_r->addr + 4, 0, 12);
			ip_r->family = AF_INET;
		} else {
			ip_r->family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int net_network_parse(const char *text, struct ip_addr *net_r, unsigned int *bits_r)
{
	char buf[80];
	const char *slash = strchr(text, '/');
	size_t len = slash == NULL ? strlen(text) : (size_t)(slash - text);

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (net_addr_parse(buf, net_r) < 0)
		return -1;
	unsigned int max = net_r->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*bits_r = max;
		return 0;
	}
	if (str_to_uint(slash + 1, bits_r) < 0 || *bits_r > max)
		return -1;
	return 0;
}

bool net_is_in_network(const struct ip_addr *ip, const struct ip_addr *net,
		       unsigned int bits)
{
	if (ip->family != net->family || ip->family == 0)
		return false;
	unsigned int full = bits / 8, rest = bits % 8;
	if (memcmp(ip->addr, net->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (ip->addr[full] & mask) == (net->addr[full] & mask);
}

bool net_match_list(const struct ip_addr *ip, const char *list)
{
	char *copy = x_strdup(list), *saveptr = NULL;
	bool match = false;

	for (char *tok = strtok_r(copy, ", \t", &saveptr); tok != NULL && !match;
	     tok = strtok_r(NULL, ", \t", &saveptr)) {
		struct ip_addr net;
		unsigned int bits;
		if (strcmp(tok, "local") == 0)
			match = ip == NULL;
		else if (ip != NULL && net_network_parse(tok, &net, &bits) == 0)
			match = net_is_in_network(ip, &net, bits);
	}
	free(copy);
	return match;
}
