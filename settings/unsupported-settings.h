#ifndef ROOST_UNSUPPORTED_SETTINGS_H
#define ROOST_UNSUPPORTED_SETTINGS_H
/* Dovecot 2.3 names roost accepts as "known" (NULL-terminated lists). */

/* Top-level settings roost does not implement yet. */
extern const char *const dovecot_unsupported_settings[];
/* Top-level section types roost does not implement yet. */
extern const char *const dovecot_unsupported_sections[];
/* All service names of Dovecot 2.3 (and Pigeonhole). */
extern const char *const dovecot_service_names[];

#endif
