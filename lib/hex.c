/* Hex codec. */
#include "lib.h"
#include "hex.h"

static const char hex_chars[] = "0123456789abcdef";

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(string_t *dest, const void *src, size_t size)
{
	const unsigned char *p = src;
	char out[2];

	for (size_t i = 0; i < size; i++) {
		out[0] = hex_chars[p[i] >> 4];
		out[1] = hex_chars[p[i] & 0x0f];
		str_append_n(dest, out, 2);
	}
}

void hex_encode_buf(char *dest, size_t dest_size, const void *src, size_t size)
{
	const unsigned char *p = src;

	i_assert(size < SIZE_MAX / 2 && dest_size > size * 2);
	for (size_t i = 0; i < size; i++) {
		dest[i * 2] = hex_chars[p[i] >> 4];
		dest[i * 2 + 1] = hex_chars[p[i] & 0x0f];
	}
	dest[size * 2] = '\0';
}

static bool hex_is_valid(const char *src, size_t len)
{
	if (len % 2 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (hex_digit_value(src[i]) < 0)
			return false;
	}
	return true;
}

int hex_decode(string_t *dest, const char *src, size_t len)
{
	unsigned char c;

	if (!hex_is_valid(src, len))
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		c = (unsigned char)(hex_digit_value(src[i]) << 4 |
				    hex_digit_value(src[i + 1]));
		str_append_n(dest, &c, 1);
	}
	return 0;
}

int hex_decode_buf(const char *src, size_t len, unsigned char *dest,
		   size_t dest_size, size_t *size_r)
{
	if (!hex_is_valid(src, len) || len / 2 > dest_size)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		dest[i / 2] = (unsigned char)(hex_digit_value(src[i]) << 4 |
					      hex_digit_value(src[i + 1]));
	}
	*size_r = len / 2;
	return 0;
}
