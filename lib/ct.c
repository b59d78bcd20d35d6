/* Constant-time memory comparison. */
#include "lib.h"
#include "ct.h"

bool ct_memequal(const void *a, const void *b, size_t size)
{
	/* volatile keeps the compiler from turning the loop into an early
	   exit */
	const volatile unsigned char *pa = a, *pb = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < size; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}

bool ct_memequal_sized(const void *a, size_t a_size,
		       const void *b, size_t b_size)
{
	if (a_size != b_size)
		return false;
	return ct_memequal(a, b, a_size);
}
