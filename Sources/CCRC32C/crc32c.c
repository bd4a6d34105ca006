/*
 * CRC32C for iSCSI digests: SSE4.2 crc32 instruction when available,
 * slicing-by-8 tables otherwise. See include/ccrc32c.h for the state convention.
 */
#include "ccrc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CCRC32C_POLY 0x82F63B78u

/* table[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8). */
static uint32_t ccrc32c_table[8][256];

static void ccrc32c_build_tables(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t crc = b;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 1u) ? (crc >> 1) ^ CCRC32C_POLY : crc >> 1;
        }
        ccrc32c_table[0][b] = crc;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t crc = ccrc32c_table[0][b];
        for (int k = 1; k < 8; k++) {
            crc = ccrc32c_table[0][crc & 0xFFu] ^ (crc >> 8);
            ccrc32c_table[k][b] = crc;
        }
    }
}

static pthread_once_t ccrc32c_once = PTHREAD_ONCE_INIT;
static int ccrc32c_use_hw;     /* result of the CPU probe */

static void ccrc32c_init_once(void) {
    ccrc32c_build_tables();
#if defined(__x86_64__)
    __builtin_cpu_init();
    ccrc32c_use_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    ccrc32c_use_hw = 0;
#endif
}

/* Tables and CPU probe are set up once, on first use, safely across threads. */
static inline void ccrc32c_init(void) {
    pthread_once(&ccrc32c_once, ccrc32c_init_once);
}

static inline uint64_t ccrc32c_load64_le(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v); /* memcpy: the buffer may be unaligned */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t ccrc32c_update_sw(uint32_t crc, const void *buf, size_t len) {
    ccrc32c_init();
    const unsigned char *p = (const unsigned char *)buf;
    while (len >= 8) {
        uint64_t v = ccrc32c_load64_le(p) ^ (uint64_t)crc;
        crc = ccrc32c_table[7][v & 0xFFu]
            ^ ccrc32c_table[6][(v >> 8) & 0xFFu]
            ^ ccrc32c_table[5][(v >> 16) & 0xFFu]
            ^ ccrc32c_table[4][(v >> 24) & 0xFFu]
            ^ ccrc32c_table[3][(v >> 32) & 0xFFu]
            ^ ccrc32c_table[2][(v >> 40) & 0xFFu]
            ^ ccrc32c_table[1][(v >> 48) & 0xFFu]
            ^ ccrc32c_table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = ccrc32c_table[0][(crc ^ *p) & 0xFFu] ^ (crc >> 8);
        p++;
        len--;
    }
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t ccrc32c_update_sse42(uint32_t crc, const void *buf, size_t len) {
    const unsigned char *p = (const unsigned char *)buf;
    /* Byte steps until 8-byte aligned so the wide loop reads aligned words. */
    while (len > 0 && ((uintptr_t)p & 7u) != 0) {
        crc = _mm_crc32_u8(crc, *p);
        p++;
        len--;
    }
    uint64_t c64 = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c64;
    while (len > 0) {
        crc = _mm_crc32_u8(crc, *p);
        p++;
        len--;
    }
    return crc;
}
#endif

uint32_t ccrc32c_update_hw(uint32_t crc, const void *buf, size_t len) {
    ccrc32c_init();
#if defined(__x86_64__)
    if (ccrc32c_use_hw) {
        return ccrc32c_update_sse42(crc, buf, len);
    }
#endif
    return ccrc32c_update_sw(crc, buf, len);
}

uint32_t ccrc32c_update(uint32_t crc, const void *buf, size_t len) {
    ccrc32c_init();
#if defined(__x86_64__)
    if (ccrc32c_use_hw) {
        return ccrc32c_update_sse42(crc, buf, len);
    }
#endif
    return ccrc32c_update_sw(crc, buf, len);
}

int ccrc32c_hardware(void) {
    ccrc32c_init();
    return ccrc32c_use_hw;
}
