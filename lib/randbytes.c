/* Random bytes from OpenSSL. */
#include "lib.h"
#include "randbytes.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/rand.h>

void random_bytes(void *buf, size_t size)
{
	unsigned char *p = buf;

	while (size > 0) {
		/* RAND_bytes() takes an int */
		int n = size > INT_MAX ? INT_MAX : (int)size;

		if (RAND_bytes(p, n) != 1) {
			char err[256];

			ERR_error_string_n(ERR_get_error(), err, sizeof(err));
			lib_panic(__FILE__, __LINE__,
				  "RAND_bytes(%d) failed: %s", n, err);
		}
		p += n;
		size -= (size_t)n;
	}
}
