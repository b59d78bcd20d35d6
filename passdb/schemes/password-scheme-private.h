#ifndef ROOST_PASSWORD_SCHEME_PRIVATE_H
#define ROOST_PASSWORD_SCHEME_PRIVATE_H
/* Internal interface between password-scheme.c (parsing, encodings,
   registry) and the scheme families (scheme-*.c). */
#include "lib.h"
#include "str.h"
#include "password-scheme.h"

enum password_encoding {
	PASSWORD_ENCODING_NONE,
	PASSWORD_ENCODING_BASE64,
	PASSWORD_ENCODING_HEX,
};

struct password_scheme;

/* Compare plain with the decoded stored value raw. 1 match, 0 mismatch,
   -1 error (*error_r). */
typedef int password_verify_func_t(const struct password_scheme *scheme,
				   const unsigned char *plain, size_t plain_len,
				   const char *user,
				   const unsigned char *raw, size_t raw_len,
				   const char **error_r);
/* Append the raw (unencoded) value for plain to dest (a secure string).
   0 ok, -1 error (*error_r). */
typedef int password_generate_func_t(const struct password_scheme *scheme,
				     const unsigned char *plain, size_t plain_len,
				     const char *user, unsigned int rounds,
				     string_t *dest, const char **error_r);

struct password_scheme {
	const char *name;
	/* Schemes with the same family produce the same values (aliases):
	   credentials of one can be used for the other. */
	const char *family;
	enum password_encoding default_encoding;
	/* Fixed raw size (enables the hex/base64 guess), 0 = variable. */
	size_t raw_size;
	/* Verification should run on a worker thread. */
	bool slow;
	/* Never derived from a plaintext password by
	   password_get_credentials(). */
	bool not_derivable;
	/* NULL: generate and compare in constant time. */
	password_verify_func_t *verify;
	password_generate_func_t *generate;
	/* Family-specific parameters (digest, crypt prefix, ...). */
	const void *context;
};

/* scheme-digest.c */
extern const struct password_scheme scheme_plain, scheme_clear,
	scheme_cleartext, scheme_plain_trunc, scheme_plain_md4,
	scheme_plain_md5, scheme_ldap_md5, scheme_sha, scheme_sha1,
	scheme_sha256, scheme_sha512, scheme_smd5, scheme_ssha,
	scheme_ssha256, scheme_ssha512;
/* scheme-crypt.c */
extern const struct password_scheme scheme_crypt, scheme_des_crypt,
	scheme_md5_crypt, scheme_md5, scheme_sha256_crypt,
	scheme_sha512_crypt, scheme_blf_crypt;
/* scheme-pbkdf2.c */
extern const struct password_scheme scheme_pbkdf2;
/* scheme-cram-md5.c */
extern const struct password_scheme scheme_cram_md5, scheme_hmac_md5;
/* scheme-digest-md5.c */
extern const struct password_scheme scheme_digest_md5;
/* scheme-scram.c */
extern const struct password_scheme scheme_scram_sha1, scheme_scram_sha256;
/* scheme-otp.c */
extern const struct password_scheme scheme_otp;
#ifdef HAVE_ARGON2
/* scheme-argon2.c */
extern const struct password_scheme scheme_argon2i, scheme_argon2id;
#endif

/* Look up a scheme by name with optional encoding suffix. Returns NULL if
   unknown (or the suffix is unknown). *explicit_encoding_r tells whether a
   suffix gave the encoding. */
const struct password_scheme *
password_scheme_lookup(const char *name, enum password_encoding *encoding_r,
		       bool *explicit_encoding_r);

/* Format an error message into this thread's error buffer. */
const char *password_error(const char *fmt, ...) ATTR_FORMAT(1, 2);

/* Fill buf with size random characters of "./0-9A-Za-z" (crypt salts). */
void password_random_salt_chars(char *buf, size_t size);

/* Shared digest helper (OpenSSL EVP by name: "MD5", "SHA1", "SHA256",
   "SHA512"): digest of a || b into out (EVP_MAX_MD_SIZE bytes), returns
   the digest size, or 0 if OpenSSL failed (e.g. MD5 disabled by policy). */
size_t password_digest2(const char *digest_name,
			const void *a, size_t a_size,
			const void *b, size_t b_size,
			unsigned char *out);

/* Decode a fixed-size digest stored as PLAIN-MD5 would be (hex if
   2 * raw_size characters, else base64). Used by {MD5}. 0 ok, -1 error. */
int password_decode_guess(const char *data, size_t len, size_t raw_size,
			  unsigned char *out);

#endif
