#ifndef ROOST_CT_H
#define ROOST_CT_H
/* Constant-time comparison for secrets (password hashes, MACs, cookies):
   the running time depends only on the size, never on where the inputs
   first differ. */
#include "lib.h"

/* True if a[0..size) == b[0..size). */
bool ct_memequal(const void *a, const void *b, size_t size);

/* True if a[0..a_size) == b[0..b_size). Sizes are not secret: different
   sizes return false at once. */
bool ct_memequal_sized(const void *a, size_t a_size,
		       const void *b, size_t b_size);

#endif
