#ifndef ROOST_NET_H
#define ROOST_NET_H
/* IP address helpers: parsing textual IPv4/IPv6 (v4-mapped v6 addresses
   are turned into IPv4) and network (CIDR) matching. */
#include "lib.h"

struct ip_addr {
	int family;              /* AF_INET or AF_INET6, 0 = none */
	unsigned char addr[16];  /* network byte order; 4 bytes used for v4 */
};

/* Returns 0 or -1 if text is not an IP address. */
int net_addr_parse(const char *text, struct ip_addr *ip_r);
/* "192.0.2.0/24", "2001:db8::/32" or a bare address (full length).
   Returns 0 or -1 if malformed (bits out of range etc.). */
int net_network_parse(const char *text, struct ip_addr *net_r, unsigned int *bits_r);
bool net_is_in_network(const struct ip_addr *ip, const struct ip_addr *net,
		       unsigned int bits);
/* Match ip against a comma/space separated list of networks. "local"
   matches when ip is NULL (no remote address: a local socket client).
   Malformed entries never match. */
bool net_match_list(const struct ip_addr *ip, const char *list);

#endif
