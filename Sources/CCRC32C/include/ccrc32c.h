#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as used by iSCSI
 * header and data digests (RFC 7143 §13.1, Appendix B.4).
 *
 * State convention: the functions work on the *raw* register, i.e. the value
 * that is already inverted. A complete checksum is
 *
 *     ~ccrc32c_update(0xFFFFFFFF, buf, len)
 *
 * and a streamed one is the same with several update calls chained between
 * the initial 0xFFFFFFFF and the final bitwise NOT.
 */

/* Update the raw CRC state with len bytes; picks SSE4.2 when the CPU has it. */
uint32_t ccrc32c_update(uint32_t crc, const void *buf, size_t len);

/* Same result as ccrc32c_update, always using the portable slicing-by-8
 * table path (exposed so tests can compare both implementations). */
uint32_t ccrc32c_update_sw(uint32_t crc, const void *buf, size_t len);

/* Same result as ccrc32c_update, always using the SSE4.2 instruction.
 * Only valid when ccrc32c_hardware() returns 1; otherwise it falls back to
 * the table path so a mistaken call never executes an illegal instruction. */
uint32_t ccrc32c_update_hw(uint32_t crc, const void *buf, size_t len);

/* 1 when ccrc32c_update uses the CPU's crc32 instruction, else 0. */
int ccrc32c_hardware(void);

#ifdef __cplusplus
}
#endif

#endif /* CCRC32C_H */
