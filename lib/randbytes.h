#ifndef ROOST_RANDBYTES_H
#define ROOST_RANDBYTES_H
/* Cryptographically secure random bytes from OpenSSL's DRBG (RAND_bytes).
   Thread-safe. There is no error return: if the generator fails the
   process panics (running on without randomness would make salts and
   nonces predictable). */
#include "lib.h"

void random_bytes(void *buf, size_t size);

#endif
