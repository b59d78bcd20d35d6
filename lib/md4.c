/* MD4 (RFC 1320). */
#include "lib.h"
#include "md4.h"

static inline uint32_t rotl32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* RFC 1320 3.4: auxiliary functions F, G, H */
#define MD4_F(x, y, z) (((x) & (y)) | (~(x) & (z)))
#define MD4_G(x, y, z) (((x) & (y)) | ((x) & (z)) | ((y) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))

static void md4_block(uint32_t state[4], const unsigned char block[64])
{
	/* RFC 1320 3.4: word order of rounds 2 and 3, and shift amounts */
	static const unsigned char r2_index[16] =
		{ 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15 };
	static const unsigned char r3_index[16] =
		{ 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15 };
	static const unsigned char r1_shift[4] = { 3, 7, 11, 19 };
	static const unsigned char r2_shift[4] = { 3, 5, 9, 13 };
	static const unsigned char r3_shift[4] = { 3, 9, 11, 15 };
	uint32_t x[16], v[4], t;
	unsigned int i;

	for (i = 0; i < 16; i++)
		x[i] = get_le32(block + i * 4);
	memcpy(v, state, sizeof(v));

	/* Each step updates one of a, b, c, d in turn: keep them in v[]
	   and rotate the roles by index. */
	for (i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4];
		uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			d = v[(7 - i % 4) % 4];
		t = *a + MD4_F(b, c, d) + x[i];
		*a = rotl32(t, r1_shift[i % 4]);
	}
	for (i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4];
		uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			d = v[(7 - i % 4) % 4];
		t = *a + MD4_G(b, c, d) + x[r2_index[i]] + 0x5a827999U;
		*a = rotl32(t, r2_shift[i % 4]);
	}
	for (i = 0; i < 16; i++) {
		uint32_t *a = &v[(4 - i % 4) % 4];
		uint32_t b = v[(5 - i % 4) % 4], c = v[(6 - i % 4) % 4],
			d = v[(7 - i % 4) % 4];
		t = *a + MD4_H(b, c, d) + x[r3_index[i]] + 0x6ed9eba1U;
		*a = rotl32(t, r3_shift[i % 4]);
	}
	for (i = 0; i < 4; i++)
		state[i] += v[i];
	explicit_bzero(x, sizeof(x));
	explicit_bzero(v, sizeof(v));
}

void md4_init(struct md4_context *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->state[0] = 0x67452301U;
	ctx->state[1] = 0xefcdab89U;
	ctx->state[2] = 0x98badcfeU;
	ctx->state[3] = 0x10325476U;
}

void md4_update(struct md4_context *ctx, const void *data, size_t size)
{
	const unsigned char *p = data;

	ctx->total += size;
	if (ctx->buf_len > 0) {
		size_t n = MD4_BLOCK_SIZE - ctx->buf_len;
		if (n > size)
			n = size;
		memcpy(ctx->buf + ctx->buf_len, p, n);
		ctx->buf_len += n;
		p += n;
		size -= n;
		if (ctx->buf_len < MD4_BLOCK_SIZE)
			return;
		md4_block(ctx->state, ctx->buf);
		ctx->buf_len = 0;
	}
	for (; size >= MD4_BLOCK_SIZE; p += MD4_BLOCK_SIZE, size -= MD4_BLOCK_SIZE)
		md4_block(ctx->state, p);
	memcpy(ctx->buf, p, size);
	ctx->buf_len = size;
}

void md4_final(struct md4_context *ctx, unsigned char digest[MD4_DIGEST_SIZE])
{
	/* RFC 1320 3.1-3.2: pad with 0x80, zeros to 56 mod 64, then the
	   bit length as a 64-bit little-endian number */
	uint64_t bits = ctx->total * 8;
	unsigned char pad[MD4_BLOCK_SIZE + 8] = { 0x80 };
	size_t pad_len = ctx->buf_len < 56 ? 56 - ctx->buf_len :
		120 - ctx->buf_len;
	unsigned char len_le[8];

	for (unsigned int i = 0; i < 8; i++)
		len_le[i] = (unsigned char)(bits >> (8 * i));
	md4_update(ctx, pad, pad_len);
	md4_update(ctx, len_le, sizeof(len_le));
	i_assert(ctx->buf_len == 0);
	for (unsigned int i = 0; i < 4; i++) {
		digest[i * 4] = (unsigned char)ctx->state[i];
		digest[i * 4 + 1] = (unsigned char)(ctx->state[i] >> 8);
		digest[i * 4 + 2] = (unsigned char)(ctx->state[i] >> 16);
		digest[i * 4 + 3] = (unsigned char)(ctx->state[i] >> 24);
	}
	explicit_bzero(ctx, sizeof(*ctx));
}

void md4_get_digest(const void *data, size_t size,
		    unsigned char digest[MD4_DIGEST_SIZE])
{
	struct md4_context ctx;

	md4_init(&ctx);
	md4_update(&ctx, data, size);
	md4_final(&ctx, digest);
}
