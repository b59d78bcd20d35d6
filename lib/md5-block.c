/* MD5 compression function and a resumable MD5 (RFC 1321). */
#include "lib.h"
#include "md5-block.h"

const uint32_t md5_initial_state[4] = {
	0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U
};

/* RFC 1321 3.4: T[i] = floor(2^32 * abs(sin(i + 1))) */
static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const unsigned char md5_shift[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static inline uint32_t rotl32(uint32_t x, unsigned int n)
{
	return (x << n) | (x >> (32 - n));
}

void md5_block_compress(uint32_t state[4], const unsigned char block[MD5_BLOCK_SIZE])
{
	uint32_t x[16], a = state[0], b = state[1], c = state[2], d = state[3];
	unsigned int i;

	for (i = 0; i < 16; i++) {
		const unsigned char *p = block + i * 4;
		x[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	}
	for (i = 0; i < 64; i++) {
		uint32_t f;
		unsigned int k, round = i / 16;

		switch (round) {
		case 0:
			f = (b & c) | (~b & d);
			k = i;
			break;
		case 1:
			f = (b & d) | (c & ~d);
			k = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ c ^ d;
			k = (3 * i + 5) % 16;
			break;
		default:
			f = c ^ (b | ~d);
			k = (7 * i) % 16;
			break;
		}
		f += a + md5_t[i] + x[k];
		a = d;
		d = c;
		c = b;
		b += rotl32(f, md5_shift[round][i % 4]);
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	explicit_bzero(x, sizeof(x));
}

void md5_state_init(struct md5_state_context *ctx)
{
	md5_state_init_from(ctx, md5_initial_state, 0);
}

void md5_state_init_from(struct md5_state_context *ctx,
			 const uint32_t state[4], uint64_t bytes_done)
{
	i_assert(bytes_done % MD5_BLOCK_SIZE == 0);
	memset(ctx, 0, sizeof(*ctx));
	memcpy(ctx->state, state, sizeof(ctx->state));
	ctx->total = bytes_done;
}

void md5_state_update(struct md5_state_context *ctx, const void *data,
		      size_t size)
{
	const unsigned char *p = data;

	ctx->total += size;
	if (ctx->buf_len > 0) {
		size_t n = MD5_BLOCK_SIZE - ctx->buf_len;
		if (n > size)
			n = size;
		memcpy(ctx->buf + ctx->buf_len, p, n);
		ctx->buf_len += n;
		p += n;
		size -= n;
		if (ctx->buf_len < MD5_BLOCK_SIZE)
			return;
		md5_block_compress(ctx->state, ctx->buf);
		ctx->buf_len = 0;
	}
	for (; size >= MD5_BLOCK_SIZE; p += MD5_BLOCK_SIZE, size -= MD5_BLOCK_SIZE)
		md5_block_compress(ctx->state, p);
	memcpy(ctx->buf, p, size);
	ctx->buf_len = size;
}

void md5_state_final(struct md5_state_context *ctx,
		     unsigned char digest[MD5_DIGEST_SIZE])
{
	/* RFC 1321 3.1-3.2: 0x80, zeros to 56 mod 64, 64-bit LE bit length */
	uint64_t bits = ctx->total * 8;
	unsigned char pad[MD5_BLOCK_SIZE + 8] = { 0x80 };
	size_t pad_len = ctx->buf_len < 56 ? 56 - ctx->buf_len :
		120 - ctx->buf_len;
	unsigned char len_le[8];

	for (unsigned int i = 0; i < 8; i++)
		len_le[i] = (unsigned char)(bits >> (8 * i));
	md5_state_update(ctx, pad, pad_len);
	md5_state_update(ctx, len_le, sizeof(len_le));
	i_assert(ctx->buf_len == 0);
	for (unsigned int i = 0; i < 4; i++) {
		digest[i * 4] = (unsigned char)ctx->state[i];
		digest[i * 4 + 1] = (unsigned char)(ctx->state[i] >> 8);
		digest[i * 4 + 2] = (unsigned char)(ctx->state[i] >> 16);
		digest[i * 4 + 3] = (unsigned char)(ctx->state[i] >> 24);
	}
	explicit_bzero(ctx, sizeof(*ctx));
}
