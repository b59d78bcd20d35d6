#include "lib.h"
#include "array.h"

void array_grow_impl(void **v, size_t *alloc, size_t elem_size, size_t need)
{
	if (need <= *alloc)
		return;
	size_t new_alloc = *alloc < 4 ? 4 : *alloc;
	while (new_alloc < need)
		new_alloc = size_mul(new_alloc, 2);
	*v = x_realloc(*v, size_mul(*alloc, elem_size),
		       size_mul(new_alloc, elem_size));
	*alloc = new_alloc;
}
