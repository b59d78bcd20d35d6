#ifndef ROOST_BASE64_H
#define ROOST_BASE64_H
/* Base64 (RFC 4648 section 4, standard alphabet "+/", '=' padding).

   Decoding follows the rules Dovecot applies to base64 in {SCHEME}
   passwords and on the auth protocol, so the same inputs are accepted:
   - SP, TAB, CR and LF are skipped anywhere in the input;
   - the input must be padded: the number of alphabet characters plus '='
     must be a multiple of 4;
   - nothing but whitespace may follow the padding;
   - unused low bits of the last character are ignored (not required to
     be zero).
   Anything else is an error. */
#include "lib.h"
#include "str.h"

/* Length of the encoding of size bytes (without a NUL). */
#define BASE64_ENCODED_SIZE(size) (((size) + 2) / 3 * 4)
/* Upper bound of the decoded size of len input characters. */
#define BASE64_DECODED_MAX_SIZE(len) ((len) / 4 * 3 + 3)

/* Append the base64 encoding of src to dest. */
void base64_encode(string_t *dest, const void *src, size_t size);
/* Encode into a caller buffer of at least BASE64_ENCODED_SIZE(size) + 1
   bytes; the result is NUL-terminated. Returns the encoded length. */
size_t base64_encode_buf(char *dest, size_t dest_size,
			 const void *src, size_t size);

/* Append the decoding of src[0..len) to dest. Returns 0, or -1 if the
   input is not valid base64 (dest then holds an undefined prefix: callers
   truncate or discard it). */
int base64_decode(string_t *dest, const char *src, size_t len);
/* Decode into a fixed buffer. Returns 0 and the decoded size, or -1 if the
   input is invalid or does not fit in dest_size bytes. */
int base64_decode_buf(const char *src, size_t len, unsigned char *dest,
		      size_t dest_size, size_t *size_r);

/* True if c belongs to the base64 alphabet (excluding '='). */
bool base64_is_alphabet_char(char c);

#endif
