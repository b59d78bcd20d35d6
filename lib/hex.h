#ifndef ROOST_HEX_H
#define ROOST_HEX_H
/* Hex (base16) codec: output is lower-case; input is case-insensitive,
   must have an even length and contains nothing but hex digits. */
#include "lib.h"
#include "str.h"

/* Append the lower-case hex encoding of src to dest. */
void hex_encode(string_t *dest, const void *src, size_t size);
/* Encode into a buffer of at least size * 2 + 1 bytes (NUL-terminated). */
void hex_encode_buf(char *dest, size_t dest_size, const void *src, size_t size);

/* Append the decoding of src[0..len) to dest. Returns 0, or -1 if len is
   odd or a character is not a hex digit (dest unchanged then). */
int hex_decode(string_t *dest, const char *src, size_t len);
/* Decode into a fixed buffer. Returns 0 and the decoded size, or -1 if the
   input is invalid or does not fit. */
int hex_decode_buf(const char *src, size_t len, unsigned char *dest,
		   size_t dest_size, size_t *size_r);

/* Value 0..15 of a hex digit, or -1. */
int hex_digit_value(char c);

#endif
