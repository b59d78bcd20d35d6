#ifndef ROOST_OTP_H
#define ROOST_OTP_H
/* RFC 2289 one-time passwords: the {OTP} password scheme's state and the
   hash chain, shared with the OTP SASL mechanism.

   Stored state (Dovecot's {OTP} format): "<algo> <seq> <seed> <hash>",
   algo md4|md5|sha1, seq decimal, seed 1-16 alphanumerics, hash 16 hex
   digits = S(seq) where S(0) = fold(H(lowercase(seed) || passphrase)) and
   S(n+1) = fold(H(S(n))). */
#include "lib.h"

#define OTP_HASH_SIZE 8
#define OTP_MAX_SEED_LEN 16
/* Sequence numbers above this are rejected (a stored state is admin data,
   but an absurd count would tie up a worker for a long time). */
#define OTP_MAX_SEQUENCE 1000000U

enum otp_algorithm {
	OTP_ALGORITHM_MD4,
	OTP_ALGORITHM_MD5,
	OTP_ALGORITHM_SHA1,
};

struct otp_state {
	enum otp_algorithm algorithm;
	unsigned int seq;
	char seed[OTP_MAX_SEED_LEN + 1];   /* lower-cased */
	unsigned char hash[OTP_HASH_SIZE];
};

/* "md4", "md5", "sha1" (case-insensitive). Returns 0 or -1. */
int otp_algorithm_parse(const char *name, enum otp_algorithm *algorithm_r);
const char *otp_algorithm_name(enum otp_algorithm algorithm);

/* Parse a stored state (size bytes, need not be NUL-terminated). The hex
   hash may contain spaces/tabs between digits; trailing spaces/tabs are
   allowed. Returns 0 or -1 if malformed. */
int otp_state_parse(const char *data, size_t size, struct otp_state *state_r);
/* Format a state as stored: malloc()ed "<algo> <seq> <seed> <hex>". */
char *otp_state_format(const struct otp_state *state);

/* fold(H(data)) (RFC 2289 section 6 and appendix A; for SHA-1 the two
   folded words are output little-endian like the reference code). */
void otp_fold_hash(enum otp_algorithm algorithm, const void *data,
		   size_t size, unsigned char result_r[OTP_HASH_SIZE]);
/* S(seq) for the passphrase and seed (seed is lower-cased here). */
void otp_compute(enum otp_algorithm algorithm, const char *seed,
		 const unsigned char *passphrase, size_t passphrase_len,
		 unsigned int seq, unsigned char result_r[OTP_HASH_SIZE]);

#endif
