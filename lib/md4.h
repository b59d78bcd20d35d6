#ifndef ROOST_MD4_H
#define ROOST_MD4_H
/* MD4 message digest (RFC 1320). Needed for the PLAIN-MD4 password scheme
   and OTP's md4 algorithm; OpenSSL 3's default provider no longer offers
   it. MD4 is broken: never use it for anything new. */
#include "lib.h"

#define MD4_DIGEST_SIZE 16
#define MD4_BLOCK_SIZE 64

struct md4_context {
	uint32_t state[4];
	uint64_t total;                         /* bytes hashed so far */
	unsigned char buf[MD4_BLOCK_SIZE];
	size_t buf_len;
};

void md4_init(struct md4_context *ctx);
void md4_update(struct md4_context *ctx, const void *data, size_t size);
/* Write the digest and wipe the context. */
void md4_final(struct md4_context *ctx, unsigned char digest[MD4_DIGEST_SIZE]);
/* One-shot digest. */
void md4_get_digest(const void *data, size_t size,
		    unsigned char digest[MD4_DIGEST_SIZE]);

#endif
