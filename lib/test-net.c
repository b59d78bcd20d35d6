/* Unit tests for net.h */
#include "lib.h"
#include "net.h"

#include <stdio.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_match(void **state ATTR_UNUSED)
{
	static const struct { const char *ip; const char *list; bool match; } tests[] = {
		{ "192.0.2.5", "192.0.2.0/24", true },
		{ "192.0.3.5", "192.0.2.0/24", false },
		{ "192.0.2.5", "192.0.2.5", true },
		{ "192.0.2.5", "10.0.0.0/8, 192.0.2.4/31", true },
		{ "192.0.2.6", "10.0.0.0/8,192.0.2.4/31", false },
		{ "::ffff:192.0.2.5", "192.0.2.0/24", true },      /* v4-mapped */
		{ "2001:db8::1", "2001:db8::/32", true },
		{ "2001:db9::1", "2001:db8::/32", false },
		{ "2001:db8::1", "192.0.2.0/24", false },
		{ "192.0.2.5", "0.0.0.0/0", true },
		{ "192.0.2.5", "192.0.2.0/33,garbage,/8,192.0.2.0/x", false },
		{ "10.1.2.3", "10.1.2.0/23", true },
		{ "10.1.4.3", "10.1.2.0/23", false },
		{ "192.0.2.5", "local", false },
	};
	for (size_t i = 0; i < N_ELEMENTS(tests); i++) {
		struct ip_addr ip;
		assert_int_equal(net_addr_parse(tests[i].ip, &ip), 0);
		if (net_match_list(&ip, tests[i].list) != tests[i].match)
			fail_msg("%s in %s: expected %d", tests[i].ip, tests[i].list, tests[i].match);
	}
	assert_true(net_match_list(NULL, "192.0.2.0/24 local"));
	assert_false(net_match_list(NULL, "192.0.2.0/24"));
}

static void test_parse_bad(void **state ATTR_UNUSED)
{
	static const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", "[::1",
				     "1.2.3.4/", "abc" };
	struct ip_addr ip;
	unsigned int bits;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (net_network_parse(bad[i], &ip, &bits) == 0)
			fail_msg("%s parsed", bad[i]);
	}
	assert_int_equal(net_addr_parse("[::1]", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_parse_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
