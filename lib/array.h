#ifndef ROOST_ARRAY_H
#define ROOST_ARRAY_H
/* Typed growing arrays on the heap:
     ARRAY(struct foo) foos = ARRAY_INIT;
     array_push(&foos, value);  for (i = 0; i < foos.count; i++) foos.v[i]...
     array_free(&foos);
*/
#include "lib.h"

#define ARRAY(type) struct { type *v; size_t count; size_t alloc; }
#define ARRAY_INIT { NULL, 0, 0 }

void array_grow_impl(void **v, size_t *alloc, size_t elem_size, size_t need);

#define array_reserve(arr, n) \
	array_grow_impl((void **)&(arr)->v, &(arr)->alloc, sizeof(*(arr)->v), (n))
/* Append a new zeroed element and return a pointer to it. */
#define array_append_space(arr) \
	(array_reserve((arr), (arr)->count + 1), \
	 memset(&(arr)->v[(arr)->count], 0, sizeof(*(arr)->v)), \
	 &(arr)->v[(arr)->count++])
#define array_push(arr, value) \
	do { array_reserve((arr), (arr)->count + 1); \
	     (arr)->v[(arr)->count++] = (value); } while (0)
#define array_delete(arr, idx, n) \
	do { size_t _i = (idx), _n = (n); \
	     i_assert(_i + _n <= (arr)->count); \
	     memmove(&(arr)->v[_i], &(arr)->v[_i + _n], \
		     ((arr)->count - _i - _n) * sizeof(*(arr)->v)); \
	     (arr)->count -= _n; } while (0)
#define array_clear(arr) ((arr)->count = 0)
#define array_free(arr) \
	do { free((arr)->v); (arr)->v = NULL; (arr)->count = (arr)->alloc = 0; } while (0)
#define array_foreach(arr, elem) \
	for ((elem) = (arr)->v; (arr)->v != NULL && (elem) < (arr)->v + (arr)->count; (elem)++)

#endif
