#ifndef ROOST_MD5_BLOCK_H
#define ROOST_MD5_BLOCK_H
/* MD5 (RFC 1321) with access to the chaining state. The CRAM-MD5 /
   HMAC-MD5 password scheme stores the MD5 state after one 64-byte block
   (the HMAC key XOR pad), and the CRAM-MD5 mechanism resumes hashing from
   such a state. OpenSSL 3 deprecates its low-level MD5 API, so this is a
   small own implementation. For plain MD5 digests use OpenSSL's EVP. */
#include "lib.h"

#define MD5_DIGEST_SIZE 16
#define MD5_BLOCK_SIZE 64

/* The RFC 1321 initial state A, B, C, D. */
extern const uint32_t md5_initial_state[4];

/* Compress one 64-byte block into state (RFC 1321 3.4). */
void md5_block_compress(uint32_t state[4], const unsigned char block[MD5_BLOCK_SIZE]);

struct md5_state_context {
	uint32_t state[4];
	uint64_t total;                         /* bytes hashed so far */
	unsigned char buf[MD5_BLOCK_SIZE];
	size_t buf_len;
};

/* Start a digest from the initial state. */
void md5_state_init(struct md5_state_context *ctx);
/* Resume from a chaining state reached after bytes_done bytes
   (a multiple of 64). */
void md5_state_init_from(struct md5_state_context *ctx,
			 const uint32_t state[4], uint64_t bytes_done);
void md5_state_update(struct md5_state_context *ctx, const void *data,
		      size_t size);
/* Write the digest and wipe the context. */
void md5_state_final(struct md5_state_context *ctx,
		     unsigned char digest[MD5_DIGEST_SIZE]);

#endif
