#ifndef ROOST_CRC32_H
#define ROOST_CRC32_H
/* CRC-32 as in zlib, PNG and Ethernet (polynomial 0x04c11db7, reflected).
   A checksum for spotting repeats, not a cryptographic hash.
   The _more() variants continue a previous result: crc32_data_more(
   crc32_data(a, n), b, m) equals the CRC of a followed by b. */
#include "lib.h"

uint32_t crc32_data(const void *data, size_t size);
uint32_t crc32_data_more(uint32_t crc, const void *data, size_t size);
uint32_t crc32_str(const char *str);
uint32_t crc32_str_more(uint32_t crc, const char *str);

#endif
