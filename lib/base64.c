/* Base64 codec (RFC 4648 section 4). */
#include "lib.h"
#include "base64.h"

static const char base64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of an alphabet character, or -1. */
static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool base64_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool base64_is_alphabet_char(char c)
{
	return base64_value((unsigned char)c) >= 0;
}

static void base64_encode_group(const unsigned char *src, size_t n, char out[4])
{
	uint32_t v = (uint32_t)src[0] << 16;

	if (n > 1)
		v |= (uint32_t)src[1] << 8;
	if (n > 2)
		v |= src[2];
	out[0] = base64_chars[(v >> 18) & 0x3f];
	out[1] = base64_chars[(v >> 12) & 0x3f];
	out[2] = n > 1 ? base64_chars[(v >> 6) & 0x3f] : '=';
	out[3] = n > 2 ? base64_chars[v & 0x3f] : '=';
}

void base64_encode(string_t *dest, const void *src, size_t size)
{
	const unsigned char *p = src;
	char out[4];

	for (size_t i = 0; i < size; i += 3) {
		base64_encode_group(p + i, size - i < 3 ? size - i : 3, out);
		str_append_n(dest, out, sizeof(out));
	}
}

size_t base64_encode_buf(char *dest, size_t dest_size,
			 const void *src, size_t size)
{
	const unsigned char *p = src;
	size_t len = 0;

	i_assert(size <= (SIZE_MAX - 3) / 4 * 3);
	i_assert(dest_size > BASE64_ENCODED_SIZE(size));
	for (size_t i = 0; i < size; i += 3) {
		base64_encode_group(p + i, size - i < 3 ? size - i : 3,
				    dest + len);
		len += 4;
	}
	dest[len] = '\0';
	return len;
}

/* Output target of the decoder: a string or a fixed buffer. */
struct base64_sink {
	string_t *str;
	unsigned char *buf;
	size_t buf_size, used;
	bool overflow;
};

static void sink_put(struct base64_sink *sink, const unsigned char *data,
		     size_t size)
{
	if (sink->str != NULL) {
		str_append_n(sink->str, data, size);
		return;
	}
	if (size > sink->buf_size - sink->used) {
		sink->overflow = true;
		return;
	}
	memcpy(sink->buf + sink->used, data, size);
	sink->used += size;
}

static int base64_decode_to(struct base64_sink *sink, const char *src,
			    size_t len)
{
	unsigned char out[3];
	uint32_t acc = 0;
	unsigned int count = 0;   /* alphabet chars in the current group */
	unsigned int pad = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = src[i];

		if (base64_is_space(c))
			continue;
		if (c == '=') {
			/* "xx==" or "xxx=": padding completes the group */
			if (count < 2)
				return -1;
			pad++;
			if (count + pad == 4)
				break;
			continue;
		}
		if (pad > 0)
			return -1;
		int v = base64_value((unsigned char)c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		if (++count == 4) {
			out[0] = (unsigned char)(acc >> 16);
			out[1] = (unsigned char)(acc >> 8);
			out[2] = (unsigned char)acc;
			sink_put(sink, out, 3);
			acc = 0;
			count = 0;
		}
	}
	if (pad > 0) {
		if (count + pad != 4)
			return -1;
		/* only whitespace may follow the padding */
		for (i++; i < len; i++) {
			if (!base64_is_space(src[i]))
				return -1;
		}
		if (count == 2) {
			out[0] = (unsigned char)(acc >> 4);
			sink_put(sink, out, 1);
		} else {
			out[0] = (unsigned char)(acc >> 10);
			out[1] = (unsigned char)(acc >> 2);
			sink_put(sink, out, 2);
		}
	} else if (count != 0) {
		/* unpadded partial group */
		return -1;
	}
	return sink->overflow ? -1 : 0;
}

int base64_decode(string_t *dest, const char *src, size_t len)
{
	struct base64_sink sink = { .str = dest };

	return base64_decode_to(&sink, src, len);
}

int base64_decode_buf(const char *src, size_t len, unsigned char *dest,
		      size_t dest_size, size_t *size_r)
{
	struct base64_sink sink = { .buf = dest, .buf_size = dest_size };

	if (base64_decode_to(&sink, src, len) < 0)
		return -1;
	*size_r = sink.used;
	return 0;
}
