#ifndef ROOST_OTP_WORDS_H
#define ROOST_OTP_WORDS_H
/* RFC 2289 six-word format: a 64-bit one-time password plus its 2-bit
   checksum (66 bits) as six 11-bit indices into the standard dictionary
   of appendix D (2048 words of 1-4 upper-case letters).

   Only the standard dictionary is supported: the alternative-dictionary
   rule of RFC 2289 section 5 ("alg(W) % 2048 == N") leaves the byte order
   of the digest open, and Dovecot 2.3 does not implement it either, so a
   word outside the standard dictionary is an error. */
#include "lib.h"
#include "otp.h"

struct str;

#define OTP_WORDS_DICTIONARY_SIZE 2048
#define OTP_WORDS_PER_OTP 6
#define OTP_WORD_MAX_LEN 4

/* The dictionary word at index (0..2047), upper case. Points into a
   constant table. */
const char *otp_word(unsigned int index);
/* The index of word[0..len) (case-insensitive), or -1 if it is not in the
   standard dictionary. */
int otp_word_find(const char *word, size_t len);
/* RFC 2289 appendix B: the sum of the 32 two-bit pairs of the hash,
   modulo 4. */
unsigned int otp_words_checksum(const unsigned char hash[OTP_HASH_SIZE]);
/* Append the six upper-case words for hash to dest, separated by single
   spaces. */
void otp_words_encode(const unsigned char hash[OTP_HASH_SIZE], struct str *dest);
/* Decode text[0..len): exactly six words separated (and optionally
   surrounded) by spaces or tabs, in any letter case. Returns 0, or -1 with
   *error_r set to a constant string (wrong word count, a word not in the
   dictionary, a checksum mismatch). */
int otp_words_decode(const char *text, size_t len,
		     unsigned char hash_r[OTP_HASH_SIZE], const char **error_r);

#endif
