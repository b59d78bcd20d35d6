#ifndef ROOST_PASSWORD_SCHEME_H
#define ROOST_PASSWORD_SCHEME_H
/* Password schemes: Dovecot 2.3 compatible "{SCHEME}data" strings
   (spec: shared/spec/password-schemes.md).

   Stored form:  {SCHEME}data, {SCHEME.b64}data, {SCHEME.hex}data, or data
   alone (then the passdb's default scheme applies; data beginning with
   "$1$<salt>$" is MD5-CRYPT whatever the default, as in Dovecot).
   Scheme names are case-insensitive. Plaintext is handled as bytes,
   exactly as typed: no charset conversion, no normalisation.

   Errors: functions taking error_r set it to a string literal or to a
   thread-local buffer that stays valid until the next call of any
   function of this module in the same thread. Copy it if you need it
   longer.

   All functions are thread-safe (crypt_r, no static mutable state);
   every final comparison is constant-time. Plaintext copies and derived
   keys are wiped before their memory is freed. Memory returned through
   *_r pointers is malloc()ed and owned by the caller: wipe secrets
   (x_free_secret()) before freeing. */
#include "lib.h"

/* Verify plain (bytes as typed) against the stored password.
   user is needed by DIGEST-MD5 only ("user@realm", split at the last '@';
   may be NULL for other schemes).
   Returns 1 match, 0 mismatch, -1 error (unknown scheme, malformed stored
   password, DIGEST-MD5 without a user, ...): *error_r says why, e.g.
   "Unknown scheme: FOO" or "Invalid SSHA256 password: Input isn't valid
   base64 encoded data". A stored password without {..} prefix and without
   default_scheme (NULL) is an error.
   An empty stored value is compared like any other: treating an empty
   passdb password as "no password" (spec section 4) is the passdb's job. */
int password_verify(const unsigned char *plain, size_t plain_len,
		    const char *stored, const char *default_scheme,
		    const char *user, const char **error_r);

/* Does verifying this stored password cost enough CPU that it should run
   on a worker thread? True for the crypt(3) families, PBKDF2, ARGON2*,
   SCRAM-* (PBKDF2 from the plaintext); false for plain values, fast
   digests, unknown schemes. */
bool password_verify_is_slow(const char *stored, const char *default_scheme);

/* Make "{SCHEME}data" for plain. scheme is case-insensitive and may carry a
   .b64/.base64/.hex suffix; the result uses the upper-cased name as given
   ("{SHA256.B64}..."). rounds 0 = the scheme's default (the cost for
   BLF-CRYPT/CRYPT, rounds for SHA*-CRYPT and PBKDF2, iterations for SCRAM,
   t for ARGON2*; ignored by the others; clamped to each scheme's limits
   like doveadm). DIGEST-MD5 needs user.
   Returns 0 with *result_r malloc()ed (NUL-terminated; it may be a
   plaintext-equivalent secret), or -1 with *error_r ("Unknown scheme:
   FOO", ...). */
int password_generate(const unsigned char *plain, size_t plain_len,
		      const char *scheme, const char *user, unsigned int rounds,
		      char **result_r, const char **error_r);

/* Credentials for non-plaintext mechanisms: turn the stored password into
   the raw credentials of wanted_scheme:
   - stored in the same scheme (or an alias: CRAM-MD5 = HMAC-MD5, PLAIN =
     CLEAR = CLEARTEXT, ...): the decoded raw value;
   - stored as plaintext: derived on the fly (CRAM-MD5 -> the 32-byte
     HMAC-MD5 context, DIGEST-MD5 -> MD5(user:realm:pw) for user,
     SCRAM-SHA-* -> "i,salt,StoredKey,ServerKey" with a new random salt,
     PLAIN -> the plaintext). OTP is never derived (its state must live in
     the passdb).
   Raw values: 32 bytes for CRAM-MD5, 16 for DIGEST-MD5, the text of the
   string schemes (SCRAM, OTP, crypt...) for the others.
   Returns 1 with *raw_r malloc()ed (one extra NUL byte after *raw_len_r,
   not counted; caller wipes and frees), 0 if the stored scheme cannot
   provide wanted_scheme, -1 on error (*error_r). */
int password_get_credentials(const char *stored, const char *default_scheme,
			     const char *wanted_scheme, const char *user,
			     unsigned char **raw_r, size_t *raw_len_r,
			     const char **error_r);

/* Split "{SCHEME}data": the text between '{' and the first '}' is copied
   upper-cased into scheme_r (NUL-terminated; at most scheme_size - 1
   characters) and a pointer to data (inside stored) is returned. Returns
   NULL if stored does not start with '{', has no '}', or the name does not
   fit in scheme_r. */
const char *password_split_scheme(const char *stored, char *scheme_r,
				  size_t scheme_size);

/* Is scheme (case-insensitive, optional .b64/.base64/.hex suffix) known? */
bool password_scheme_is_known(const char *scheme);

/* NULL-terminated list of the scheme names, in doveadm pw -l order
   (static data, do not free). */
const char *const *password_scheme_names(void);

/* ---- lower level: the two steps of password_verify(), as doveadm pw -t
   performs them (roostadm pw reports their errors separately). ---- */

/* Find the scheme of a stored password the way Dovecot does: a "{SCHEME}"
   prefix (the name is copied as written, not upper-cased, truncated to
   scheme_size - 1 characters), or "$1$<salt>$..." which is MD5-CRYPT (the
   data then ends before a third '$', as in Dovecot). Returns true with
   *data_r / *data_len_r pointing into stored, false if neither form is
   present. */
bool password_get_scheme(const char *stored, char *scheme_r, size_t scheme_size,
			 const char **data_r, size_t *data_len_r);

/* Decode data[0..data_len) (the text after "{SCHEME}") according to scheme's encoding
   (suffix, default, or the hex/base64 guess for fixed-size values).
   Returns 1 with *raw_r malloc()ed (plus a NUL not counted in
   *raw_len_r), 0 if scheme is unknown (*error_r = "Unknown scheme"),
   -1 if data is invalid (*error_r, Dovecot's words: "Input isn't valid
   base64 encoded data", "Input isn't valid HEX encoded data", "Input
   length isn't valid (3 instead of 20)"). */
int password_decode(const char *data, size_t data_len, const char *scheme,
		    unsigned char **raw_r, size_t *raw_len_r,
		    const char **error_r);
/* Verify plain against a raw value from password_decode().
   Returns 1, 0 (*error_r = "Password mismatch") or -1 (*error_r).
   Also the way to honour a passdb's password_noscheme field (a plaintext
   that may begin with '{'): password_verify_raw(plain, len, "PLAIN", NULL,
   stored, strlen(stored), &error). */
int password_verify_raw(const unsigned char *plain, size_t plain_len,
			const char *scheme, const char *user,
			const unsigned char *raw, size_t raw_len,
			const char **error_r);

/* ---- helpers for the mechanisms that use stored credentials ---- */

#define CRAM_MD5_CONTEXT_SIZE 32

/* HMAC-MD5(key = the password behind context, msg) from a {CRAM-MD5}
   context (outer state A,B,C,D then inner state, each uint32 LE). */
void cram_md5_hmac_from_context(const unsigned char context[CRAM_MD5_CONTEXT_SIZE],
				const void *msg, size_t msg_size,
				unsigned char digest_r[16]);

#define SCRAM_MAX_KEY_SIZE 32   /* SHA-256 */
#define SCRAM_MAX_SALT_SIZE 256

/* Parsed SCRAM-SHA-1 / SCRAM-SHA-256 credentials. */
struct scram_credentials {
	unsigned int iterations;
	unsigned char salt[SCRAM_MAX_SALT_SIZE];
	size_t salt_size;
	unsigned char stored_key[SCRAM_MAX_KEY_SIZE];
	unsigned char server_key[SCRAM_MAX_KEY_SIZE];
	size_t key_size;               /* 20 for SHA-1, 32 for SHA-256 */
};

/* Parse "iter,salt_b64,StoredKey_b64,ServerKey_b64" for scheme
   "SCRAM-SHA-1" or "SCRAM-SHA-256". Returns 0 or -1 (*error_r).
   The caller wipes *cred_r after use. */
int scram_credentials_parse(const char *scheme, const unsigned char *data,
			    size_t size, struct scram_credentials *cred_r,
			    const char **error_r);

#endif
